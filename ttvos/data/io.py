"""Reading frames and indexed masks, writing palette PNGs as the DAVIS / YouTube-VOS servers expect.

Masks are read as palette *indices* (never colours), exactly as the official evaluation reads them.
torch is imported only by the functions that make tensors: the evaluation (and its worker
processes) reads PNGs through this module and must not pay for importing torch.
"""

from __future__ import annotations

from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from torch import Tensor

from ttvos.errors import UserError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
VOID = 255  # DAVIS marks unlabelled pixels (object borders) with this id: they belong to no object


class DataError(UserError):
    """Bad input data; the message is one line naming the file and what to do."""


@lru_cache(maxsize=1)
def davis_palette() -> bytes:
    """The 256-colour DAVIS / PASCAL VOC palette (id bits spread over the high bits of R, G, B)."""
    palette = bytearray()
    for index in range(256):
        rgb = [0, 0, 0]
        value = index
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << (7 - bit)
            value >>= 3
        palette.extend(rgb)
    return bytes(palette)


def read_frame(path: str | PathLike[str]) -> np.ndarray:
    """An RGB frame as ``H*W*3`` uint8."""
    try:
        with Image.open(path) as image:
            return np.array(image.convert("RGB"))
    except FileNotFoundError as error:
        raise DataError(f"{path}: frame not found") from error
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"{path}: unreadable image ({error}); re-extract or re-download the frame") from error


def normalize_frame(frame: np.ndarray) -> Tensor:
    """``H*W*3`` uint8 -> ``3*H*W`` float32, scaled to [0, 1] then ImageNet-normalised.

    Same operations in the same order as torchvision's ``ToTensor`` + ``Normalize``.
    """
    import torch

    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float().div(255)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return image.sub_(mean).div_(std)


def working_size(height: int, width: int, resolution: int | None) -> tuple[int, int]:
    """Size the network runs at: shorter side ``resolution`` (None keeps the input size).

    The longer side is truncated like torchvision's ``Resize(int)``, which the reference uses.
    """
    if resolution is None or min(height, width) == resolution:
        return height, width
    if height <= width:
        return resolution, int(resolution * width / height)
    return int(resolution * height / width), resolution


def resize_frame(
    image: Tensor, size: tuple[int, int], *, antialias: bool = False, interpolation: str = "bicubic"
) -> Tensor:
    """Bicubic resize of a normalised frame ``3*H*W``: what torchvision's ``Resize(480, BICUBIC)``,
    which the reference applies to float tensors, computes. Its tensor path did not antialias up
    to torchvision 0.16 (the paper's time; ``antialias=False``) and does from 0.17 on. XMem's
    evaluation resizes the same way, but bilinearly (``interpolation="bilinear"``)."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    import torch

    resized = torch.nn.functional.interpolate(
        image[None], size=size, mode=interpolation, align_corners=False, antialias=antialias
    )
    return resized[0]


def resize_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of an ``H*W`` label map (torch's legacy 'nearest', like torchvision)."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    import torch

    resized = torch.nn.functional.interpolate(labels[None, None].float(), size=size, mode="nearest")
    return resized[0, 0].to(labels.dtype)


def read_mask(path: str | PathLike[str], *, allow_binary: bool = False) -> np.ndarray:
    """An indexed (palette) mask as ``H*W`` uint8 object ids (0 = background).

    With ``allow_binary`` a grayscale / 1-bit mask is accepted as a single object (any non-zero
    pixel is object 1); colour (RGB) masks are refused because their ids are ambiguous.
    """
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode == "P":
                return np.array(image, dtype=np.uint8)
            if allow_binary and mode in ("1", "L", "I;16", "I"):
                return (np.array(image) > 0).astype(np.uint8)
    except FileNotFoundError as error:
        raise DataError(f"{path}: mask not found") from error
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"{path}: unreadable mask ({error})") from error
    hint = (
        "a binary (grayscale) mask is accepted for one object"
        if allow_binary
        else "re-save it with a palette"
    )
    raise DataError(
        f"{path}: mask has image mode {mode!r}, expected an indexed palette PNG (mode 'P'); {hint}"
    )


def write_mask(path: str | PathLike[str], labels: np.ndarray) -> None:
    """Write ``H*W`` uint8 ids as an indexed PNG with the DAVIS palette."""
    image = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8))
    image.putpalette(davis_palette())  # turns the 'L' image into a 'P' (indexed) one
    image.save(path, format="PNG")


def list_frames(folder: str | PathLike[str]) -> list[Path]:
    """Image files of a frame folder, sorted by name (the order every benchmark uses)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: frame folder not found")
    frames = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".")
    )
    if not frames:
        raise DataError(f"{folder}: no .jpg/.png frames in this folder")
    return frames

"""A video to segment (files on disk) and its loaded, network-ready form."""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ttvos.data.io import (
    VOID,
    DataError,
    normalize_frame,
    read_frame,
    read_mask,
    resize_frame,
    resize_labels,
    working_size,
)

if TYPE_CHECKING:
    from torch import Tensor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VOSVideo:
    """One video of a benchmark: its frames, its annotated frames and which outputs to write.

    ``frames`` are sorted; ``annotations`` maps a frame index to its mask file; ``output_frames``
    lists the frame indices whose PNG the benchmark expects (``None``: every frame from the first
    annotated one on). ``allow_binary_masks`` accepts grayscale masks as one object (custom input).
    """

    name: str
    frames: tuple[Path, ...]
    annotations: dict[int, Path]
    output_frames: tuple[int, ...] | None = None
    allow_binary_masks: bool = False

    def output_indices(self) -> list[int]:
        first = min(self.annotations)
        if self.output_frames is None:
            return list(range(first, len(self.frames)))
        return [t for t in self.output_frames if t >= first]

    def output_name(self, index: int) -> str:
        return self.frames[index].stem + ".png"

    def input_digest(self) -> str:
        """A short hash of what the masks are computed from: the frame and mask files (names and
        contents), the annotated frames and the expected outputs. Folders do not count, so a
        dataset copied elsewhere keeps its results; a different video under the same name does not."""
        digest = hashlib.sha256(f"{self.output_frames}:{self.allow_binary_masks};".encode())
        for path in self.frames:
            digest.update(f"{path.name}:{_file_digest(path)};".encode())
        for index, path in sorted(self.annotations.items()):
            digest.update(f"{index}:{_file_digest(path)};".encode())
        return digest.hexdigest()[:16]


def _file_digest(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror})") from None
    return _content_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 17)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, computed once per process while its size and time stay the same (a sweep
    checks the same frames for every config and seed)."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror})") from None
    return digest.hexdigest()


class FrameSequence:
    """Lazily read frames, normalised and resized to the working size: ``seq[t] -> 3*h*w``."""

    def __init__(
        self,
        paths: tuple[Path, ...],
        original_size: tuple[int, int],
        size: tuple[int, int],
        *,
        antialias: bool = False,
        interpolation: str = "bicubic",
    ) -> None:
        self.paths = paths
        self.original_size = original_size
        self.size = size
        self.antialias = antialias
        self.interpolation = interpolation  # bicubic (STCN's evaluation) or bilinear (XMem's)

    def __len__(self) -> int:
        return len(self.paths)

    def raw(self, index: int) -> np.ndarray:
        """The frame as stored, ``H*W*3`` uint8, checked against the video's size."""
        frame = read_frame(self.paths[index])
        if frame.shape[:2] != self.original_size:
            raise DataError(
                f"{self.paths[index]}: frame is {frame.shape[1]}x{frame.shape[0]}, the video's first "
                f"frame is {self.original_size[1]}x{self.original_size[0]}; all frames must have one size"
            )
        return frame

    def __getitem__(self, index: int) -> Tensor:
        frame = normalize_frame(self.raw(index))
        return resize_frame(frame, self.size, antialias=self.antialias, interpolation=self.interpolation)


class CachedFrames(FrameSequence):
    """A :class:`FrameSequence` that keeps what it read: test-time training reads the same frames at
    every pseudo-mask refresh (tt-MCC: ~11 inferences per video) and for every training sequence.

    Frames are kept (stored and normalised forms) until ``max_bytes`` are held; later frames are
    read from disk each time. The tensors handed out are shared: callers must not modify them.
    """

    def __init__(self, frames: FrameSequence, max_bytes: int = 2 << 30) -> None:
        vars(self).update(vars(frames))  # the same files, sizes and resizing options
        self.max_bytes = max_bytes
        self._held = 0
        self._raw: dict[int, np.ndarray] = {}
        self._normalised: dict[int, Tensor] = {}

    def raw(self, index: int) -> np.ndarray:
        if index not in self._raw:
            frame = super().raw(index)
            if not self._keep(frame.nbytes):
                return frame
            self._raw[index] = frame
        return self._raw[index]

    def __getitem__(self, index: int) -> Tensor:
        if index not in self._normalised:
            frame = super().__getitem__(index)
            if not self._keep(frame.nbytes):
                return frame
            self._normalised[index] = frame
        return self._normalised[index]

    def _keep(self, nbytes: int) -> bool:
        if self._held + nbytes > self.max_bytes:
            return False
        self._held += nbytes
        return True


@dataclass
class LoadedVideo:
    """A video ready for the network.

    ``annotations`` hold contiguous object ids 1..K at the working size; ``object_ids[k-1]`` is the
    id object k has in the files (YouTube-VOS ids need not be contiguous).
    """

    video: VOSVideo
    frames: FrameSequence
    annotations: dict[int, Tensor]
    object_ids: list[int] = field(default_factory=list)

    @property
    def num_objects(self) -> int:
        return len(self.object_ids)

    def to_file_ids(self, labels: np.ndarray) -> np.ndarray:
        """Map contiguous ids (network output) back to the ids of the input files."""
        lookup = np.zeros(self.num_objects + 1, dtype=np.uint8)
        lookup[1:] = self.object_ids
        return lookup[labels]


def load_video(
    video: VOSVideo, resolution: int | None, *, antialias: bool = False, interpolation: str = "bicubic"
) -> LoadedVideo:
    """Read the annotations, check them against the frames, and set up lazy frame loading.

    ``resolution``: shorter side the network runs at (``None`` = native size); ``antialias`` and
    ``interpolation``: see :func:`~ttvos.data.io.resize_frame`.
    """
    if not video.frames:
        raise DataError(f"{video.name}: the video has no frames")
    if not video.annotations:
        raise DataError(f"{video.name}: no annotated frame (a first-frame mask is required)")
    first_frame = read_frame(video.frames[0])
    original_size = first_frame.shape[:2]
    masks = {
        t: read_mask(path, allow_binary=video.allow_binary_masks)
        for t, path in sorted(video.annotations.items())
    }
    for t, mask in masks.items():
        void = int((mask == VOID).sum())
        if void:  # otherwise tracked as object 255
            logger.warning(
                "%s: %d pixels have id %d (void in DAVIS); treated as background",
                video.annotations[t],
                void,
                VOID,
            )
            masks[t] = np.where(mask == VOID, 0, mask).astype(np.uint8)
        if mask.shape != original_size:
            raise DataError(
                f"{video.annotations[t]}: mask is {mask.shape[1]}x{mask.shape[0]} but the frames are "
                f"{original_size[1]}x{original_size[0]}; masks must have the size of their frames"
            )
    first = min(masks)
    if not masks[first].any():
        raise DataError(f"{video.annotations[first]}: the first annotated mask is empty (no object to track)")
    object_ids = sorted({int(i) for mask in masks.values() for i in np.unique(mask)} - {0})
    lookup = np.zeros(256, dtype=np.int64)
    lookup[object_ids] = np.arange(1, len(object_ids) + 1)
    size = working_size(*original_size, resolution)
    import torch  # here, not at the top: the evaluation imports this package without torch

    annotations = {t: resize_labels(torch.from_numpy(lookup[mask]), size) for t, mask in masks.items()}
    frames = FrameSequence(
        video.frames, original_size, size, antialias=antialias, interpolation=interpolation
    )
    return LoadedVideo(video, frames, annotations, object_ids)

"""Training videos and the sequences drawn from them, as STCN's and XMem's training datasets draw them.

A source is a list of :class:`TrainVideo` s (frames with a mask for every frame): generated synthetic
videos, the DAVIS-2017 train split, YouTube-VOS train, or still images turned into short sequences by
random deformations (STCN's stage 0). :func:`draw_sequence` picks frames with a maximum gap, augments
them (``ttvos.data.augment``) and picks the objects: STCN a target object and possibly a second one
(its ``sec_gt``), XMem every object up to ``max_objects`` (a random subset beyond).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ttvos.data.augment import (
    apply_affine,
    apply_colour,
    apply_crop,
    draw_affine,
    draw_colour,
    draw_crop,
)
from ttvos.data.io import normalize_frame
from ttvos.data.synthetic import SyntheticVideo
from ttvos.errors import UserError
from ttvos.train.recipe import TrainConfig

SEQUENCE_LENGTH = 3
_TRIALS = 5  # STCN redraws a sequence whose first frame shows no object at most this many times


Clip = tuple[list[np.ndarray], list[np.ndarray]]  # frames (H*W*3 uint8 RGB), masks (H*W uint8 ids)


class TrainVideo:
    """A video with a mask for every frame; ``clip(indices, rng)`` reads (or makes) those frames.

    Still images are videos too: their clip is a fresh random deformation at every draw.
    """

    def __init__(
        self,
        name: str,
        length: int,
        clip: Callable[[list[int], np.random.Generator], Clip],
        *,
        frame_step: int = 1,
    ) -> None:
        self.name = name
        self.length = length
        self.clip = clip
        self.frame_step = frame_step  # real frames between two stored frames (YouTube-VOS train: 5)

    @classmethod
    def generated(cls, name: str, length: int, make: Callable[[], SyntheticVideo]) -> TrainVideo:
        """A generated video, made on its first draw and kept (a pool costs nothing up front)."""
        video = functools.cache(make)

        def clip(indices: list[int], rng: np.random.Generator) -> Clip:
            return [video().frames[i] for i in indices], [video().masks[i] for i in indices]

        return cls(name, length, clip)

    @classmethod
    def from_folders(
        cls, name: str, frames: Sequence[Path], masks: Sequence[Path], *, frame_step: int = 1
    ) -> TrainVideo:
        def clip(indices: list[int], rng: np.random.Generator) -> Clip:
            return [_read_rgb(frames[i]) for i in indices], [_read_ids(masks[i]) for i in indices]

        return cls(name, len(frames), clip, frame_step=frame_step)

    @classmethod
    def from_still(cls, name: str, still: Callable[[], tuple[np.ndarray, np.ndarray]]) -> TrainVideo:
        """A still image and its mask (made on first use), deformed anew at every draw (STCN's stage 0)."""
        from ttvos.data.static import deform_to_sequence

        image_and_mask = functools.cache(still)

        def clip(indices: list[int], rng: np.random.Generator) -> Clip:
            video = deform_to_sequence(*image_and_mask(), rng, num_frames=len(indices))
            return list(video.frames), list(video.masks)

        return cls(name, SEQUENCE_LENGTH, clip)

    @classmethod
    def from_still_files(cls, image: Path, mask: Path) -> TrainVideo:
        """An image file and its mask file (values > 127 = the object), read at every draw."""
        from ttvos.data.static import deform_to_sequence

        def clip(indices: list[int], rng: np.random.Generator) -> Clip:
            binary = (_read_ids(mask) > 127).astype(np.uint8)
            video = deform_to_sequence(_read_rgb(image), binary, rng, num_frames=len(indices))
            return list(video.frames), list(video.masks)

        return cls(image.stem, SEQUENCE_LENGTH, clip)


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


def _read_ids(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image if image.mode in ("P", "L") else image.convert("L"))


@dataclass
class TrainSequence:
    """One training sequence: ``images: T*3*H*W`` normalised; ``masks: O*1*H*W`` frame 0's masks of
    the target (and second) object; ``labels: T*H*W`` int64 (0 background, 1 target, 2 second)."""

    images: torch.Tensor
    masks: torch.Tensor
    labels: torch.Tensor


def frame_indices(length: int, max_skip: int, rng: np.random.Generator) -> list[int]:
    """STCN's ``VOSDataset`` rule: three frames, each 1 to ``max_skip + 1`` after the previous one,
    clamped near the end of the video (which can repeat a frame), reversed half of the time."""
    jump = min(length, max_skip)
    start = int(rng.integers(length - jump + 1))
    middle = min(start + int(rng.integers(jump + 1)) + 1, length - jump, length - 1)
    last = min(middle + int(rng.integers(jump + 1)) + 1, length - jump // 2, length - 1)
    indices = [start, middle, last]
    return indices[::-1] if rng.random() < 0.5 else indices


def spread_frame_indices(length: int, max_skip: int, count: int, rng: np.random.Generator) -> list[int]:
    """XMem's ``VOSDataset`` rule: ``count`` distinct frames, each new one drawn uniformly among the
    frames within ``max_skip`` of a frame already drawn; sorted, reversed half of the time."""
    jump = min(length, max_skip)
    indices = [int(rng.integers(length))]
    allowed: set[int] = set()
    while len(indices) < count:
        last = indices[-1]
        allowed = (allowed | set(range(max(0, last - jump), min(length, last + jump + 1)))) - set(indices)
        indices.append(int(rng.choice(sorted(allowed))))
    indices.sort()
    return indices[::-1] if rng.random() < 0.5 else indices


def _draw_indices(
    video: TrainVideo, config: TrainConfig, max_skip: int, rng: np.random.Generator
) -> list[int]:
    skip = max(1, max_skip // video.frame_step)
    if config.model == "xmem":
        return spread_frame_indices(video.length, skip, config.seq_len, rng)
    return frame_indices(video.length, skip, rng)


def _choose_objects(labels: list[int], config: TrainConfig, rng: np.random.Generator) -> list[int]:
    """STCN: a random target, then a random second object; XMem: all, or a random ``max_objects``."""
    if config.model == "xmem":
        if len(labels) <= config.max_objects:
            return labels
        return [int(v) for v in rng.choice(labels, size=config.max_objects, replace=False)]
    chosen = [int(rng.choice(labels))] if labels else []
    rest = [v for v in labels if v not in chosen]
    if rest and config.max_objects > 1:
        chosen.append(int(rng.choice(rest)))
    return chosen


def _augment(
    frames: list[np.ndarray], masks: list[np.ndarray], config: TrainConfig, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sequence-wide flip, random-resized crop and colour; then per-frame affine and light colour."""
    height, width = masks[0].shape
    flip = bool(rng.random() < 0.5)
    crop = draw_crop(rng, height, width, config.crop_scale, (3 / 4, 4 / 3))
    colour = draw_colour(rng, 0.1, 0.03, 0.03)
    grayscale = bool(rng.random() < 0.05)
    out_frames, out_masks = [], []
    for frame, mask in zip(frames, masks, strict=True):
        image = apply_colour(
            apply_crop(Image.fromarray(frame), crop, config.crop, flip=flip, is_mask=False), colour
        )
        if grayscale:
            image = image.convert("L").convert("RGB")
        label = apply_crop(Image.fromarray(mask), crop, config.crop, flip=flip, is_mask=True)
        affine = draw_affine(rng, 15, 10)
        image = apply_colour(apply_affine(image, affine, is_mask=False), draw_colour(rng, 0.01, 0.01, 0.01))
        out_frames.append(np.array(image))
        out_masks.append(np.array(apply_affine(label, affine, is_mask=True)))
    return out_frames, out_masks


def draw_sequence(
    videos: Sequence[TrainVideo], config: TrainConfig, max_skip: int, rng: np.random.Generator
) -> TrainSequence:
    """A random augmented sequence of a random video, with the objects to segment."""
    for _ in range(_TRIALS):
        video = videos[int(rng.integers(len(videos)))]
        indices = _draw_indices(video, config, max_skip, rng)
        frames, masks = _augment(*video.clip(indices, rng), config, rng)
        labels = [int(v) for v in np.unique(masks[0]) if v != 0]
        if labels:
            break
    chosen = _choose_objects(labels, config, rng)
    stacked = torch.from_numpy(np.stack(masks).astype(np.int64))
    classes = torch.zeros_like(stacked)
    for position, value in enumerate(chosen, start=1):
        classes[stacked == value] = position
    first = torch.stack(
        [(stacked[0] == v).float() for v in chosen] or [torch.zeros_like(stacked[0], dtype=torch.float)]
    )
    images = torch.stack([normalize_frame(f) for f in frames])
    return TrainSequence(images, first[:, None], classes)


# -- sources ------------------------------------------------------------------------------


def synthetic_videos(config: TrainConfig, seed: int) -> list[TrainVideo]:
    """The generated pool: ``synthetic_videos`` scene videos, deterministic in ``seed``."""
    from ttvos.data.scenes import make_scene_video

    height, width = config.synthetic_size
    length = config.synthetic_frames
    return [
        TrainVideo.generated(
            f"scene{index:05d}",
            length,
            functools.partial(
                make_scene_video, _pool_seed(seed, index), num_frames=length, height=height, width=width
            ),
        )
        for index in range(config.synthetic_videos)
    ]


def synthetic_static_videos(config: TrainConfig, seed: int) -> list[TrainVideo]:
    """Still synthetic scenes (first frames of scene videos), deformed at every draw: a model trained
    on them has never seen real motion (the paper's static-only setting)."""
    from ttvos.data.scenes import make_scene_video

    height, width = config.synthetic_size

    def still(index: int) -> tuple[np.ndarray, np.ndarray]:
        scene = make_scene_video(_pool_seed(seed, index), num_frames=1, height=height, width=width)
        return scene.frames[0], scene.masks[0]

    return [
        TrainVideo.from_still(f"still{index:05d}", functools.partial(still, index))
        for index in range(config.synthetic_videos)
    ]


def _pool_seed(seed: int, index: int) -> int:
    """Training videos never share a generator seed with the demo's test videos (small seeds)."""
    return 1_000_000 + seed * 100_003 + index


def _require(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise UserError(f"{path}: {what} not found (see docs/training.md for the layouts)")
    return path


def _folder_videos(
    images: Path, annotations: Path, names: Sequence[str], *, frame_step: int = 1
) -> list[TrainVideo]:
    videos = []
    for name in names:
        masks = sorted((annotations / name).glob("*.png"))
        frames = [images / name / f"{m.stem}.jpg" for m in masks]
        missing = [f for f in frames if not f.is_file()]
        if missing:
            raise UserError(f"{missing[0]}: frame of an annotated mask is missing")
        if len(masks) >= SEQUENCE_LENGTH:  # STCN drops videos shorter than a sequence
            videos.append(TrainVideo.from_folders(name, frames, masks, frame_step=frame_step))
    if not videos:
        raise UserError(f"{annotations}: no video with at least {SEQUENCE_LENGTH} annotated frames")
    return videos


def davis_train_videos(root: Path) -> list[TrainVideo]:
    """DAVIS-2017 ``train`` split (``DAVIS/2017/trainval``, 480p), every frame annotated."""
    base = _require(root / "DAVIS" / "2017" / "trainval", "DAVIS-2017 trainval")
    split = base / "ImageSets" / "2017" / "train.txt"
    if not split.is_file():
        raise UserError(f"{split}: DAVIS-2017 train list not found")
    names = split.read_text().split()
    return _folder_videos(base / "JPEGImages" / "480p", base / "Annotations" / "480p", names)


def youtube_train_videos(root: Path) -> list[TrainVideo]:
    """YouTube-VOS 2018 ``train`` (``YouTube2018/train``): every 5th frame, each annotated, so gaps
    are divided by 5 (as STCN does)."""
    base = _require(root / "YouTube2018" / "train", "YouTube-VOS 2018 train")
    annotations = _require(base / "Annotations", "YouTube-VOS train annotations")
    names = sorted(p.name for p in annotations.iterdir() if p.is_dir())
    return _folder_videos(base / "JPEGImages", annotations, names, frame_step=5)


def static_folder_videos(folder: Path) -> list[TrainVideo]:
    """Still images with a same-named PNG mask (STCN's static layout), each deformed per draw."""
    images = sorted(_require(folder, "static image folder").rglob("*.jpg"))
    videos = [
        TrainVideo.from_still_files(p, p.with_suffix(".png"))
        for p in images
        if p.with_suffix(".png").is_file()
    ]
    if not videos:
        raise UserError(f"{folder}: no image.jpg with a same-named image.png mask")
    return videos

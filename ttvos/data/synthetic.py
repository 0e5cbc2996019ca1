"""Small deterministic synthetic videos: the demo's input and the tests' datasets.

Textured ellipses drift and bounce over a smooth textured background; later objects occlude
earlier ones. Ground-truth masks of every frame come with the frames, so results can be scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image

from ttvos.data.io import write_mask


@dataclass(frozen=True)
class SyntheticVideo:
    """``frames: T*H*W*3`` uint8 RGB, ``masks: T*H*W`` uint8 ids (0 = background)."""

    frames: np.ndarray
    masks: np.ndarray

    @property
    def num_objects(self) -> int:
        return int(self.masks.max())


def _texture(rng: np.random.Generator, height: int, width: int, waves: int) -> np.ndarray:
    """Sum of random plane waves, rescaled to [0, 1]: ``H*W*3`` float."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    out = np.zeros((height, width, 3))
    for _ in range(waves):
        fy, fx = rng.uniform(-0.25, 0.25, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        out += np.sin(fy * yy + fx * xx + phase)[..., None] * rng.uniform(0.2, 1.0, size=3)
    return (out - out.min()) / max(np.ptp(out), 1e-9)


def make_synthetic_video(
    num_frames: int = 12, height: int = 120, width: int = 200, num_objects: int = 2, seed: int = 0
) -> SyntheticVideo:
    """A reproducible video of ``num_objects`` moving ellipses (same seed -> same pixels)."""
    rng = np.random.default_rng(seed)
    background = 0.25 + 0.5 * _texture(rng, height, width, waves=6)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    objects = []
    for _ in range(num_objects):
        radius = rng.uniform(0.12, 0.22, size=2) * (height, width)
        centre = rng.uniform(radius, (height - radius[0], width - radius[1]))
        velocity = rng.uniform(-0.04, 0.04, size=2) * (height, width)
        colour = rng.uniform(0.0, 1.0, size=3)
        objects.append((radius, centre, velocity, colour, _texture(rng, height, width, waves=3)))
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    masks = np.zeros((num_frames, height, width), dtype=np.uint8)
    for t in range(num_frames):
        image = background.copy()
        for obj_id, (radius, centre, velocity, colour, texture) in enumerate(objects, start=1):
            position = centre + velocity * t
            # Bounce off the borders: reflect the position into the allowed range.
            span = np.array([height, width]) - 2 * radius
            position = radius + np.abs((position - radius) % (2 * span) - span)
            position = np.where(span > 0, position, centre)
            inside = ((yy - position[0]) / radius[0]) ** 2 + ((xx - position[1]) / radius[1]) ** 2 <= 1.0
            image[inside] = 0.6 * colour + 0.4 * texture[inside]
            masks[t][inside] = obj_id
        frames[t] = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return SyntheticVideo(frames, masks)


def save_frames(frames: np.ndarray, folder: Path, indices: range | None = None) -> None:
    """Write frames (all, or ``indices``) as ``%05d.jpg`` (JPEG quality 95, like DAVIS-C)."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(len(frames)) if indices is None else indices:
        Image.fromarray(frames[t]).save(folder / f"{t:05d}.jpg", quality=95)


def save_video(
    video: SyntheticVideo,
    frames_dir: str | PathLike[str],
    masks_dir: str | PathLike[str],
    *,
    annotated_frames: tuple[int, ...] | None = (0,),
) -> None:
    """Write frames as ``%05d.jpg`` and masks as ``%05d.png`` (only ``annotated_frames``;
    ``None`` writes the masks of every frame, as ground truth for evaluation)."""
    save_frames(video.frames, Path(frames_dir))
    masks_dir = Path(masks_dir)
    masks_dir.mkdir(parents=True, exist_ok=True)
    for t in range(len(video.frames)) if annotated_frames is None else annotated_frames:
        write_mask(masks_dir / f"{t:05d}.png", video.masks[t])


def write_davis(root: Path, videos: dict[str, SyntheticVideo], *, split: str = "val") -> Path:
    """A DAVIS 2017 tree (``DAVIS/2017/trainval`` or ``test-dev``) with ground truth for every frame
    (test-dev: the first frame's mask only, as the real one). Returns the split's folder."""
    base = Path(root) / "DAVIS" / "2017" / ("test-dev" if split == "test-dev" else "trainval")
    annotated = (0,) if split == "test-dev" else None
    for name, video in videos.items():
        masks = base / "Annotations" / "480p" / name
        save_video(video, base / "JPEGImages" / "480p" / name, masks, annotated_frames=annotated)
    imagesets = base / "ImageSets" / "2017"
    imagesets.mkdir(parents=True, exist_ok=True)
    (imagesets / f"{split}.txt").write_text("".join(f"{name}\n" for name in videos))
    return base


def write_davis_c(root: Path, videos: dict[str, SyntheticVideo], corruptions: list[tuple[str, str]]) -> None:
    """DAVIS-C frames (``DAVIS-C/<level>/<corruption>/<video>``) beside a DAVIS val tree.

    The frames are brightened by a level-dependent amount: a stand-in for the real corruptions.
    """
    write_davis(root, videos)
    shift = {"low": 30, "med": 60, "high": 90}
    for corruption, level in corruptions:
        for name, video in videos.items():
            frames = np.clip(video.frames.astype(np.int16) + shift[level], 0, 255).astype(np.uint8)
            save_frames(frames, Path(root) / "DAVIS-C" / level / corruption / name)


def write_youtube(
    root: Path, videos: dict[str, SyntheticVideo], *, every: int = 2, late_object: int = 2
) -> None:
    """A YouTube-VOS 2018 valid tree: all frames, every ``every``-th frame subsampled; the last
    object is first annotated at subsampled frame number ``late_object``, the others at frame 0."""
    base = Path(root) / "YouTube2018"
    meta: dict[str, dict] = {"videos": {}}
    for name, video in videos.items():
        save_frames(video.frames, base / "all_frames" / "valid_all_frames" / "JPEGImages" / name)
        save_frames(video.frames, base / "valid" / "JPEGImages" / name, range(0, len(video.frames), every))
        masks = base / "valid" / "Annotations" / name
        masks.mkdir(parents=True, exist_ok=True)
        late, t_late = video.num_objects, late_object * every
        write_mask(masks / "00000.png", np.where(video.masks[0] == late, 0, video.masks[0]).astype(np.uint8))
        write_mask(
            masks / f"{t_late:05d}.png", np.where(video.masks[t_late] == late, late, 0).astype(np.uint8)
        )
        meta["videos"][name] = {"objects": {str(i): {"category": "thing"} for i in range(1, late + 1)}}
    (base / "valid" / "meta.json").write_text(json.dumps(meta))


def write_mose(root: Path, videos: dict[str, SyntheticVideo]) -> None:
    """A MOSE valid tree: all frames and the first frame's mask."""
    base = Path(root) / "MOSE" / "valid"
    for name, video in videos.items():
        save_video(video, base / "JPEGImages" / name, base / "Annotations" / name)

"""Small deterministic synthetic videos: the demo's input and the tests' datasets.

Textured ellipses drift and bounce over a smooth textured background; later objects occlude
earlier ones. Ground-truth masks of every frame come with the frames, so results can be scored.
"""

from __future__ import annotations

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


def save_video(
    video: SyntheticVideo,
    frames_dir: str | PathLike[str],
    masks_dir: str | PathLike[str],
    *,
    annotated_frames: tuple[int, ...] | None = (0,),
    frame_format: str = "jpg",
) -> None:
    """Write frames as ``%05d.<frame_format>`` and masks as ``%05d.png`` (only ``annotated_frames``;
    ``None`` writes the masks of every frame, as ground truth for evaluation)."""
    frames_dir, masks_dir = Path(frames_dir), Path(masks_dir)
    frames_dir.mkdir(parents=True, exist_ok=True)
    masks_dir.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(video.frames):
        Image.fromarray(frame).save(frames_dir / f"{t:05d}.{frame_format}", quality=95)
    for t in range(len(video.frames)) if annotated_frames is None else annotated_frames:
        write_mask(masks_dir / f"{t:05d}.png", video.masks[t])

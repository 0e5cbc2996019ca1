"""The 14 DAVIS-C corruption types, and corrupting one video in memory.

``corrupt_video`` reproduces the reference generator's per-frame semantics by default
(``faithful=True``): the reference read frames with OpenCV (B, G, R order) and handed them to
functions that treat the channels as R, G, B, then rounded the float results to uint8 with ties
to even. ``faithful=False`` feeds the functions true RGB and makes glass blur really swap pixels.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ttvos.corruptions.cartoon import MISSING_OPENCV, cartoon
from ttvos.corruptions.compression import codecs_problem, crf_compression
from ttvos.corruptions.glass import glass_blur
from ttvos.corruptions.imagenet_c import (
    brightness,
    contrast,
    defocus_blur,
    gaussian_noise,
    pixelate,
    saturate,
)
from ttvos.corruptions.levels import LEVELS, Level, to_uint8
from ttvos.corruptions.temporal import motion_blur
from ttvos.errors import UserError

CorruptionName = Literal[
    "gaussian_noise",
    "contrast",
    "brightness",
    "saturate",
    "glass_blur",
    "defocus_blur",
    "pixelate",
    "cartoon",
    "motion_blur",
    "crf_compression",
    "style1",
    "style2",
    "style3",
    "style4",
]
# One frame (uint8 H*W*3, channels as the reference saw them), the level, the video's random
# stream and the faithful flag -> the frame's float (or uint8) result.
FrameFunction = Callable[[np.ndarray, Level, np.random.RandomState, bool], np.ndarray]
# A whole video, T*H*W*3 uint8 RGB, and the level -> T*H*W*3 uint8 RGB.
VideoFunction = Callable[[np.ndarray, Level], np.ndarray]


def _no_problem() -> str | None:
    return None


def _opencv_problem() -> str | None:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return MISSING_OPENCV
    return None


@dataclass(frozen=True)
class Corruption:
    """One corruption type: what it does, how to apply it, and whether it can run here."""

    name: CorruptionName
    summary: str
    frame: FrameFunction | None = None  # applied frame by frame
    video: VideoFunction | None = None  # needs the whole video (temporal or a video codec)
    problem: Callable[[], str | None] = _no_problem  # why it cannot run here (a missing extra)
    unavailable: str | None = None  # why ttvos can never make it


def _style(index: int) -> Corruption:
    reason = (
        f"style{index} needs the TF-Hub arbitrary-image-stylization network, which ttvos cannot run "
        "offline; the DAVIS-C archive has these frames: ttvos prepare-data davis-c"
    )
    return Corruption(f"style{index}", "neural style transfer (not reproduced)", unavailable=reason)  # type: ignore[arg-type]


def _motion_blur(frames: np.ndarray, level: Level) -> np.ndarray:
    return np.stack([to_uint8(frame) for frame in motion_blur(frames, level)])


CORRUPTIONS: dict[CorruptionName, Corruption] = {
    c.name: c
    for c in (
        Corruption(
            "gaussian_noise", "additive Gaussian noise", lambda x, lv, rng, _: gaussian_noise(x, lv, rng)
        ),
        Corruption("contrast", "contrast reduced towards the mean", lambda x, lv, _, __: contrast(x, lv)),
        Corruption("brightness", "HSV value raised", lambda x, lv, _, __: brightness(x, lv)),
        Corruption("saturate", "HSV saturation scaled", lambda x, lv, _, __: saturate(x, lv)),
        Corruption(
            "glass_blur",
            "blur, local pixel shuffle, blur",
            lambda x, lv, rng, faithful: glass_blur(x, lv, rng, faithful=faithful),
        ),
        Corruption("defocus_blur", "anti-aliased disk blur", lambda x, lv, _, __: defocus_blur(x, lv)),
        Corruption("pixelate", "box down- and upsampling", lambda x, lv, _, __: pixelate(x, lv)),
        Corruption(
            "cartoon",
            "mean-shift segmentation with edges",
            lambda x, lv, _, __: cartoon(x, lv),
            problem=_opencv_problem,
        ),
        Corruption("motion_blur", "weighted mean of the last frames", video=_motion_blur),
        Corruption(
            "crf_compression", "H.264 then H.265 at high CRF", video=crf_compression, problem=codecs_problem
        ),
        *(_style(i) for i in range(1, 5)),
    )
}


def unavailable_reason(name: str) -> str | None:
    """Why ``name`` cannot be made on this machine (one line), or None when it can."""
    corruption = CORRUPTIONS[name]  # type: ignore[index]
    return corruption.unavailable or corruption.problem()


def available_corruptions() -> list[CorruptionName]:
    """The corruption types this machine can make, in DAVIS-C order."""
    return [name for name in CORRUPTIONS if unavailable_reason(name) is None]


def check_names(name: str, level: str) -> tuple[Corruption, Level]:
    """The registry entry and level, or a one-line error listing the valid names."""
    if name not in CORRUPTIONS:
        raise UserError(f"unknown corruption {name!r}; valid: {', '.join(CORRUPTIONS)}")
    if level not in LEVELS:
        raise UserError(f"unknown level {level!r}; valid: {', '.join(LEVELS)}")
    return CORRUPTIONS[name], level  # type: ignore[index, return-value]


def video_seed(seed: int, video: str, name: str, level: str) -> int:
    """A video's seed, derived from the run's ``seed`` and what is made, so that every output is
    reproducible whatever the order, worker count or interruptions."""
    words = [seed, zlib.crc32(video.encode()), zlib.crc32(name.encode()), zlib.crc32(level.encode())]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def corrupt_video(
    frames: np.ndarray, name: CorruptionName, level: Level, *, seed: int = 0, faithful: bool = True
) -> np.ndarray:
    """Corrupt a video as DAVIS-C did: frames T*H*W*3 uint8 RGB -> T*H*W*3 uint8 RGB.

    The result is the exact array before DAVIS-C's JPEG step (crf_compression: the decoded JPEGs
    of its chain). ``seed`` seeds the legacy ``RandomState`` that the random types
    (gaussian_noise, glass_blur) consume frame after frame in the reference's order.
    """
    corruption, level = check_names(name, level)
    reason = unavailable_reason(name)
    if reason is not None:
        raise UserError(reason)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise UserError(f"frames must be a T*H*W*3 uint8 array, got {frames.dtype} {frames.shape}")
    if corruption.video is not None:
        return corruption.video(frames, level)
    assert corruption.frame is not None
    rng = np.random.RandomState(seed)
    out = np.empty_like(frames)
    for t, frame in enumerate(frames):
        seen = np.ascontiguousarray(frame[..., ::-1]) if faithful else frame  # BGR taken as RGB
        result = to_uint8(corruption.frame(seen, level, rng, faithful))
        out[t] = result[..., ::-1] if faithful else result
    return out

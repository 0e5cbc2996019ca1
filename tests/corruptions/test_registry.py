"""The registry and ``corrupt_video``: names, availability, shapes, seeds, the faithful switch."""

from __future__ import annotations

import numpy as np
import pytest

from ttvos.corruptions import (
    CORRUPTIONS,
    LEVELS,
    SEVERITY,
    available_corruptions,
    corrupt_video,
    unavailable_reason,
    video_seed,
)
from ttvos.data.datasets import CORRUPTIONS as DATASET_CORRUPTIONS
from ttvos.data.datasets import LEVELS as DATASET_LEVELS
from ttvos.data.synthetic import make_synthetic_video
from ttvos.errors import UserError


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return make_synthetic_video(3, 32, 48, seed=3).frames


def test_names_and_levels_are_the_ones_davis_c_readers_use():
    assert tuple(CORRUPTIONS) == DATASET_CORRUPTIONS and LEVELS == DATASET_LEVELS
    assert SEVERITY == {"low": 3, "med": 4, "high": 5}


def test_styles_are_unavailable_with_a_pointer_to_the_archive():
    for index in range(1, 5):
        reason = unavailable_reason(f"style{index}")
        assert reason and "\n" not in reason and "ttvos prepare-data davis-c" in reason
    assert available_corruptions() == list(CORRUPTIONS)[:10]  # the dev install has OpenCV and PyAV


@pytest.mark.parametrize("name", list(CORRUPTIONS)[:10])
def test_every_available_type_keeps_shape_and_dtype(name, frames):
    for level in LEVELS:
        out = corrupt_video(frames, name, level, seed=1)
        assert out.shape == frames.shape and out.dtype == np.uint8
        assert not np.array_equal(out[1:], frames[1:]), f"{name}/{level} changed nothing"


def test_unknown_names_and_unavailable_types_are_one_line_errors(frames):
    with pytest.raises(UserError, match="unknown corruption 'fog'; valid: gaussian_noise, contrast"):
        corrupt_video(frames, "fog", "low")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="unknown level 'extreme'; valid: low, med, high"):
        corrupt_video(frames, "contrast", "extreme")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="style2 needs"):
        corrupt_video(frames, "style2", "low")
    with pytest.raises(UserError, match="T\\*H\\*W\\*3 uint8"):
        corrupt_video(frames[0], "contrast", "low")


def test_seeds_reproduce_and_differ(frames):
    first = corrupt_video(frames, "gaussian_noise", "low", seed=4)
    assert np.array_equal(first, corrupt_video(frames, "gaussian_noise", "low", seed=4))
    assert not np.array_equal(first, corrupt_video(frames, "gaussian_noise", "low", seed=5))
    # The stream runs on over the frames: the noise differs from frame to frame.
    assert not np.array_equal(first[1].astype(int) - frames[1], first[0].astype(int) - frames[0])
    assert video_seed(0, "a", "glass_blur", "low") != video_seed(0, "b", "glass_blur", "low")
    assert video_seed(0, "a", "glass_blur", "low") == video_seed(0, "a", "glass_blur", "low")


def test_faithful_channel_order_is_bgr_taken_as_rgb(frames):
    """The faithful result equals the plain one applied to the channel-swapped video, swapped back."""
    for name in ("cartoon", "brightness"):
        faithful = corrupt_video(frames, name, "high")
        swapped = corrupt_video(np.ascontiguousarray(frames[..., ::-1]), name, "high", faithful=False)
        assert np.array_equal(faithful, swapped[..., ::-1])
    # Gray edges weigh the channels differently, so cartoon depends on the order; glass blur swaps.
    assert not np.array_equal(
        corrupt_video(frames, "cartoon", "high"), corrupt_video(frames, "cartoon", "high", faithful=False)
    )
    assert not np.array_equal(
        corrupt_video(frames, "glass_blur", "low", seed=2),
        corrupt_video(frames, "glass_blur", "low", seed=2, faithful=False),
    )


def test_motion_blur_weights_the_recent_frames_most():
    frames = np.zeros((3, 4, 6, 3), dtype=np.uint8)
    frames[1], frames[2] = 60, 120
    out = corrupt_video(frames, "motion_blur", "high")
    assert out[0].max() == 0
    assert (out[1] == 40).all()  # (1 * 0 + 2 * 60) / 3
    assert (out[2] == 80).all()  # (1 * 0 + 2 * 60 + 3 * 120) / 6


def test_crf_compression_accepts_odd_sizes():
    frames = make_synthetic_video(3, 31, 45, seed=2).frames
    out = corrupt_video(frames, "crf_compression", "low")
    assert out.shape == frames.shape
    assert np.abs(out.astype(int) - frames).mean() < 20

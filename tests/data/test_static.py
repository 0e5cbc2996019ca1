"""Static-image sequences: one still deformed jointly (image and mask) into a few frames."""

from __future__ import annotations

import numpy as np
import pytest

from ttvos.data.scenes import make_scene_video
from ttvos.data.static import FILL, StaticParams, deform_to_sequence, make_static_sequence
from ttvos.errors import UserError

IDENTITY = StaticParams(
    sequence_scale=(1.0, 1.0),
    flip_prob=0.0,
    rotation=0.0,
    scale=(1.0, 1.0),
    shear=0.0,
    translation=0.0,
    elastic_prob=0.0,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
)
NO_JITTER = StaticParams(brightness=0.0, contrast=0.0, saturation=0.0)


def labelled_image(height: int = 48, width: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mask with ids 3 and 7 (a disc and a bar) and an image painting each id a flat colour."""
    yy, xx = np.mgrid[0:height, 0:width]
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[(yy - 24) ** 2 + (xx - 22) ** 2 < 12**2] = 3
    mask[8:40, 42:54] = 7
    colours = np.zeros((8, 3), dtype=np.uint8)
    colours[0], colours[3], colours[7] = (20, 200, 40), (230, 30, 30), (30, 30, 230)
    return colours[mask], mask, colours


def deep_inside(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """Pixels of ``mask`` whose whole (2r+1)^2 neighbourhood is in it (outside the frame is not)."""
    padded = np.pad(mask, radius)
    height, width = mask.shape
    keep = mask.copy()
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            keep &= padded[dy : dy + height, dx : dx + width]
    return keep


def test_static_sequence_frames_ids_and_determinism():
    video = make_static_sequence(1, height=48, width=72, num_frames=3)
    again = make_static_sequence(1, height=48, width=72, num_frames=3)
    assert video.frames.shape == (3, 48, 72, 3) and video.frames.dtype == np.uint8
    assert video.masks.shape == (3, 48, 72) and video.masks.dtype == np.uint8
    np.testing.assert_array_equal(video.frames, again.frames)
    np.testing.assert_array_equal(video.masks, again.masks)
    assert set(np.unique(video.masks[0])) == set(range(video.num_objects + 1))
    assert not np.array_equal(video.masks[0], video.masks[1])


def test_static_sequence_is_the_still_scene_under_identity_transforms():
    still = make_scene_video(2, num_frames=1, height=48, width=72)
    video = make_static_sequence(2, height=48, width=72, num_frames=4, static_params=IDENTITY)
    for t in range(4):
        np.testing.assert_array_equal(video.masks[t], still.masks[0])
        assert np.abs(video.frames[t].astype(int) - still.frames[0]).max() <= 1


def test_image_and_mask_are_deformed_together():
    image, mask, colours = labelled_image()
    for seed in range(4):
        video = deform_to_sequence(image, mask, np.random.default_rng(seed), 3, params=NO_JITTER)
        assert video.num_objects == 2
        for t in range(3):
            for new_id, old_id in ((1, 3), (2, 7)):
                deep = deep_inside(video.masks[t] == new_id)
                if deep.any():
                    error = np.abs(video.frames[t][deep].astype(int) - colours[old_id]).max()
                    assert error <= 2


def test_frames_differ_but_show_the_same_objects():
    image, mask, _ = labelled_image()
    video = deform_to_sequence(image, mask, np.random.default_rng(0), 3)
    areas = np.array([[(m == k).sum() for k in (1, 2)] for m in video.masks])
    assert not np.array_equal(video.masks[0], video.masks[1])
    assert (areas[0] > 0).all()
    original = np.array([(mask == 3).sum(), (mask == 7).sum()])
    assert (areas.max(axis=0) < 4 * original).all()  # within the zoom range, nothing else appears


def test_outside_the_image_is_filled_with_the_mean_colour():
    image, mask, _ = labelled_image()
    zoom_out = StaticParams(
        sequence_scale=(0.5, 0.5), brightness=0.0, contrast=0.0, saturation=0.0, elastic_prob=0.0
    )
    video = deform_to_sequence(image, mask, np.random.default_rng(0), 2, params=zoom_out)
    np.testing.assert_allclose(video.frames[:, 0, 0], np.broadcast_to(FILL, (2, 3)), atol=1)
    assert (video.masks[:, 0, 0] == 0).all()


def test_elastic_warp_is_small_and_smooth():
    image, mask, _ = labelled_image()
    elastic = StaticParams(**{**IDENTITY.__dict__, "elastic_prob": 1.0})
    video = deform_to_sequence(image, mask, np.random.default_rng(0), 2, params=elastic)
    changed = (video.masks != mask.astype(bool) * np.where(mask == 3, 1, 2)).mean()
    assert 0 < changed < 0.1


def test_output_size_and_binary_masks():
    image, mask, _ = labelled_image()
    video = deform_to_sequence(image, (mask > 0) * 255, np.random.default_rng(1), 3, size=(32, 40))
    assert video.frames.shape == (3, 32, 40, 3)
    assert video.num_objects == 1


@pytest.mark.parametrize(
    ("image", "mask"),
    [
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)),
        (np.zeros((8, 8, 3), np.uint8), np.ones((8, 9), np.uint8)),
        (np.zeros((8, 8), np.uint8), np.ones((8, 8), np.uint8)),
        (np.zeros((8, 8, 3), np.float32), np.ones((8, 8), np.uint8)),
    ],
)
def test_bad_inputs_are_user_errors(image, mask):
    with pytest.raises(UserError):
        deform_to_sequence(image, mask, np.random.default_rng(0))


def test_frame_0_keeps_at_least_half_of_each_object():
    image, mask, _ = labelled_image()
    shifty = StaticParams(sequence_scale=(1.0, 1.0), scale=(1.0, 1.0), translation=0.45, elastic_prob=0.0)
    original = np.array([(mask == 3).sum(), (mask == 7).sum()])
    for seed in range(6):
        video = deform_to_sequence(image, mask, np.random.default_rng(seed), 3, params=shifty)
        assert video.num_objects == 2
        shown = np.array([(video.masks[0] == k).sum() for k in (1, 2)])
        assert (shown >= 0.5 * original - 2).all()

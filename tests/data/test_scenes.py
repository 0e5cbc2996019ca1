"""Procedural scene videos: reproducible, exact masks, and really moving, turning and occluding."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ttvos.data.io import read_frame, read_mask
from ttvos.data.scenes import SHAPES, TEXTURES, SceneParams, make_scene_video
from ttvos.data.synthetic import write_davis
from ttvos.errors import UserError

SIZE = {"height": 48, "width": 72}
# Objects that stay where they are and keep their size and outline; tests switch one motion on.
STILL = SceneParams(
    speed=(0.0, 0.0),
    wobble=0.0,
    rotation=0.0,
    scale_change=0.0,
    deform=0.0,
    depth_swap_prob=0.0,
    leave_prob=0.0,
    camera_pan=0.0,
    camera_zoom=0.0,
    camera_rotation=0.0,
    lighting=0.0,
    noise=0.0,
)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([ys.mean(), xs.mean()])


def interior(masks: np.ndarray, radius: int = 2) -> np.ndarray:
    """Object pixels whose whole (2r+1)^2 neighbourhood has the same id: away from every edge."""
    padded = np.pad(masks, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    keep = masks > 0
    height, width = masks.shape[1:]
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            keep &= padded[:, dy : dy + height, dx : dx + width] == masks
    return keep


def test_same_seed_same_video_other_seed_other_video():
    first = make_scene_video(3, num_frames=5, **SIZE)
    again = make_scene_video(3, num_frames=5, **SIZE)
    other = make_scene_video(4, num_frames=5, **SIZE)
    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.masks, again.masks)
    assert not np.array_equal(first.frames, other.frames)


@pytest.mark.parametrize(("height", "width", "num_objects"), [(48, 72, 1), (37, 50, 2), (64, 48, 3)])
def test_shapes_types_and_contiguous_ids_visible_in_frame_0(height, width, num_objects):
    video = make_scene_video(1, num_frames=4, height=height, width=width, num_objects=num_objects)
    assert video.frames.shape == (4, height, width, 3) and video.frames.dtype == np.uint8
    assert video.masks.shape == (4, height, width) and video.masks.dtype == np.uint8
    assert video.num_objects == num_objects
    counts = np.bincount(video.masks[0].ravel(), minlength=num_objects + 1)
    assert counts[1:].min() >= SceneParams().min_visible * height * width


def test_object_count_is_drawn_from_the_range():
    counts = {make_scene_video(seed, num_frames=1, **SIZE).num_objects for seed in range(12)}
    assert counts == {1, 2, 3}
    for seed in range(6):
        video = make_scene_video(seed, num_frames=3, **SIZE)
        assert set(np.unique(video.masks[0])) == set(range(video.num_objects + 1))


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_and_texture_renders(shape):
    texture = TEXTURES[SHAPES.index(shape) % len(TEXTURES)]
    params = SceneParams(shapes=(shape,), textures=(texture,), background_textures=(texture,))
    video = make_scene_video(0, num_frames=3, num_objects=2, params=params, **SIZE)
    assert video.num_objects == 2
    inside = video.frames[0][interior(video.masks[:1])[0]]
    assert inside.std(axis=0).max() > 0  # textured or shaded, not a flat fill


def test_masks_and_object_pixels_do_not_depend_on_the_background():
    plain = SceneParams(background_textures=("gradient",), clutter=(0, 0))
    busy = SceneParams(background_textures=("checker", "noise"), clutter=(2, 2))
    for seed in range(3):
        a = make_scene_video(seed, num_frames=6, params=plain, **SIZE)
        b = make_scene_video(seed, num_frames=6, params=busy, **SIZE)
        np.testing.assert_array_equal(a.masks, b.masks)
        deep = interior(a.masks)
        np.testing.assert_array_equal(a.frames[deep], b.frames[deep])
        background = a.masks == 0
        assert np.abs(a.frames[background].astype(int) - b.frames[background]).mean() > 5


def test_default_objects_move():
    ious = []
    for seed in range(6):
        video = make_scene_video(seed, num_frames=12, **SIZE)
        for k in range(1, video.num_objects + 1):
            ious.append(iou(video.masks[0] == k, video.masks[-1] == k))
    assert max(ious) < 1 and np.mean(ious) < 0.7


def test_still_objects_stay_and_the_background_is_still_without_camera_motion():
    video = make_scene_video(2, num_frames=5, params=STILL, **SIZE)
    assert (video.masks == video.masks[0]).all()
    assert (video.frames == video.frames[0]).all()


def test_camera_motion_moves_the_background_only():
    video = make_scene_video(2, num_frames=5, params=replace(STILL, camera_pan=0.05), **SIZE)
    assert (video.masks == video.masks[0]).all()
    background = (video.masks[0] == 0) & (video.masks[-1] == 0)
    assert np.abs(video.frames[-1][background].astype(int) - video.frames[0][background]).mean() > 3


def principal_angle(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    cov = np.cov(np.stack([xs, ys]))
    return 0.5 * float(np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]))


def test_rotation_turns_an_object_in_place():
    params = replace(
        STILL, rotation=0.3, shapes=("rounded_rect",), aspect=(0.5, 0.5), object_size=(0.18, 0.18)
    )
    turns = 0
    for seed in range(8):
        video = make_scene_video(seed, num_frames=4, num_objects=1, params=params, height=64, width=64)
        first, last = video.masks[0] == 1, video.masks[-1] == 1
        if any(m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any() for m in (first, last)):
            continue  # the box is cut by the frame's border: its centroid moves
        assert np.abs(centroid(first) - centroid(last)).max() < 1.5
        angle = abs(principal_angle(first) - principal_angle(last)) % np.pi
        turns += min(angle, np.pi - angle) > 0.05
    assert turns >= 2


def test_scaling_and_deformation_change_the_outline_in_place():
    scaling = replace(STILL, scale_change=0.4, object_size=(0.25, 0.25))
    deforming = replace(STILL, deform=1.0, shapes=("blob", "star", "ring", "cross"), object_size=(0.25, 0.25))
    for params in (scaling, deforming):
        changed = 0
        for seed in range(4):
            video = make_scene_video(seed, num_frames=10, num_objects=1, params=params, height=64, width=64)
            areas = [(mask == 1).sum() for mask in video.masks]
            changed += iou(video.masks[0] == 1, video.masks[-1] == 1) < 0.95 or max(areas) > 1.1 * min(areas)
        assert changed >= 3


def touching(mask: np.ndarray) -> bool:
    """Two different objects side by side: one hides part of the other."""
    pairs = [(mask[1:], mask[:-1]), (mask[:, 1:], mask[:, :-1])]
    return any(((a > 0) & (b > 0) & (a != b)).any() for a, b in pairs)


def test_objects_occlude_each_other_in_some_videos():
    occluded = 0
    for seed in range(8):
        video = make_scene_video(seed, num_frames=12, num_objects=3, **SIZE)
        occluded += any(touching(mask) for mask in video.masks)
    assert occluded >= 2


def test_objects_leave_the_frame_and_come_back():
    params = SceneParams(leave_prob=1.0)
    returns = 0
    for seed in range(6):
        video = make_scene_video(seed, num_frames=40, num_objects=1, params=params, height=32, width=48)
        shown = (video.masks == 1).any(axis=(1, 2))
        gone = np.flatnonzero(~shown)
        if not len(gone) or not shown[gone[-1] + 1 :].any():
            continue
        last_seen = video.masks[gone[0] - 1] == 1
        at_border = (
            last_seen[0].any() or last_seen[-1].any() or last_seen[:, 0].any() or last_seen[:, -1].any()
        )
        returns += bool(at_border)
    assert returns >= 2


def test_same_seed_gives_the_same_scene_at_another_resolution():
    for seed in range(3):
        small = make_scene_video(seed, num_frames=3, height=48, width=72).masks
        large = make_scene_video(seed, num_frames=3, height=96, width=144).masks
        assert (small == large[:, 1::2, 1::2]).mean() > 0.95


def test_write_davis_stores_scene_videos(tmp_path):
    video = make_scene_video(5, num_frames=3, **SIZE)
    base = write_davis(tmp_path, {"scene": video})
    for t in range(3):
        np.testing.assert_array_equal(
            read_mask(base / "Annotations" / "480p" / "scene" / f"{t:05d}.png"), video.masks[t]
        )
        frame = read_frame(base / "JPEGImages" / "480p" / "scene" / f"{t:05d}.jpg")
        assert np.abs(frame.astype(int) - video.frames[t]).mean() < 4  # JPEG quality 95


@pytest.mark.parametrize(
    ("kwargs", "params"),
    [
        ({"num_objects": 0}, None),
        ({"num_frames": 0}, None),
        ({}, {"num_objects": (0, 2)}),
        ({}, {"object_size": (0.3, 0.1)}),
        ({}, {"shapes": ("hexagon",)}),
        ({}, {"background_textures": ()}),
        ({"num_objects": 3}, {"min_visible": 0.5}),  # three objects cannot each cover half the frame
    ],
)
def test_bad_arguments_are_user_errors(kwargs, params):
    with pytest.raises(UserError):
        arguments = {"num_frames": 2, **SIZE, **kwargs}
        make_scene_video(0, params=SceneParams(**params) if params else None, **arguments)

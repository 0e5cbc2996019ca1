"""Training sequences: STCN's frame rule, target and second object, and the dataset layouts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from ttvos.data.synthetic import make_synthetic_video, write_davis
from ttvos.errors import UserError
from ttvos.train import sources
from ttvos.train.recipe import PRESETS

CONFIG = replace(PRESETS["tiny"], crop=(32, 48))


def test_frame_indices_follow_the_max_skip_rule():
    """STCN draws each gap as randint(skip + 1) + 1, then clamps near the end of the video."""
    rng = np.random.default_rng(0)
    gaps = set()
    for _ in range(2000):
        indices = sources.frame_indices(16, 3, rng)
        ordered = sorted(indices)
        assert ordered in (indices, indices[::-1])
        assert 0 <= ordered[0] and ordered[2] <= 15
        gaps |= {b - a for a, b in zip(ordered, ordered[1:], strict=False)}
    assert gaps == {0, 1, 2, 3, 4}


def test_sequence_has_target_and_second_object():
    video = make_synthetic_video(8, 40, 60, num_objects=3, seed=4)
    rng = np.random.default_rng(1)
    sequence = sources.draw_sequence([sources.TrainVideo.generated("v", 8, lambda: video)], CONFIG, 2, rng)
    assert sequence.images.shape == (3, 3, 32, 48)
    assert sequence.labels.shape == (3, 32, 48) and int(sequence.labels.max()) <= 2
    count = sequence.masks.shape[0]
    assert count in (1, 2) and sequence.masks.shape[1:] == (1, 32, 48)
    for position in range(count):  # frame 0's masks are the class map's objects
        assert np.array_equal(
            sequence.masks[position, 0].numpy() > 0, sequence.labels[0].numpy() == position + 1
        )


def test_single_object_recipe_keeps_one_object():
    video = make_synthetic_video(8, 40, 60, num_objects=3, seed=4)
    single = replace(CONFIG, max_objects=1)
    sequence = sources.draw_sequence(
        [sources.TrainVideo.generated("v", 8, lambda: video)], single, 2, np.random.default_rng(2)
    )
    assert sequence.masks.shape[0] == 1 and int(sequence.labels.max()) <= 1


def test_davis_train_split_is_read(tmp_path):
    videos = {name: make_synthetic_video(5, 40, 60, seed=i) for i, name in enumerate(("a", "b"))}
    base = write_davis(tmp_path, videos, split="train")
    found = sources.davis_train_videos(tmp_path)
    assert [v.name for v in found] == ["a", "b"] and found[0].length == 5
    frames, masks = found[1].clip([0, 2, 4], np.random.default_rng(0))
    assert frames[0].shape == (40, 60, 3) and np.array_equal(masks[2], videos["b"].masks[4])
    (base / "JPEGImages" / "480p" / "a" / "00003.jpg").unlink()
    with pytest.raises(UserError, match="00003.jpg"):
        sources.davis_train_videos(tmp_path)


def test_static_folder_pairs_and_missing_data(tmp_path):
    with pytest.raises(UserError, match="not found"):
        sources.static_folder_videos(tmp_path / "nothing")
    video = make_synthetic_video(1, 40, 60, num_objects=1, seed=3)
    Image.fromarray(video.frames[0]).save(tmp_path / "cat.jpg")
    Image.fromarray(video.masks[0] * 255).save(tmp_path / "cat.png")
    Image.fromarray(video.frames[0]).save(tmp_path / "unlabelled.jpg")
    (still,) = sources.static_folder_videos(tmp_path)
    frames, masks = still.clip([0, 1, 2], np.random.default_rng(0))
    assert len(frames) == 3 and set(np.unique(masks[0])) <= {0, 1}

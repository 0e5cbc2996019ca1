"""Training sequences: the reference's frame choice, object checks and fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ttvos.config import TTTConfig
from ttvos.ttt.sampler import SequenceSampler


def masks_for(video, frames_with_second_object=None):
    """Pseudo-masks: frame 0's annotation everywhere, object 2 only where listed."""
    first = video.annotations[0].numpy().astype(np.uint8)
    masks = []
    for t in range(len(video.frames)):
        mask = first.copy()
        if frames_with_second_object is not None and t not in frames_with_second_object:
            mask[mask == 2] = 0
        masks.append(mask)
    return masks


def sampler_for(video, masks, *, seed=0, check_last=True, annotated=(0,), **config):
    config.setdefault("resolution", None)
    return SequenceSampler(
        video.frames,
        masks,
        list(annotated),
        TTTConfig(**config),
        np.random.default_rng(seed),
        check_last=check_last,
    )


class FakeFrames:
    def __init__(self, count):
        self.count = count

    def __len__(self):
        return self.count


@pytest.mark.parametrize("count", [8, 50])
def test_frame_indices_follow_reference_rules(count):
    sampler = SequenceSampler(
        FakeFrames(count), [], [0], TTTConfig(), np.random.default_rng(0), check_last=False
    )
    for _ in range(200):
        first, middle, last = sampler.frame_indices(0, max_jump=10, seq_len=3)
        jump = min(count - 1, 10)
        assert first == 0
        assert 1 <= middle <= min(jump, count - jump, count - 1)
        assert middle < last <= min(middle + jump, count - 1)
    if count == 8:  # the reference's cap len - max_jump forces the middle frame of short videos
        assert {sampler.frame_indices(0, 10, 3)[1] for _ in range(50)} == {1}


def test_single_frame_sequence_for_auto_encoder():
    sampler = SequenceSampler(
        FakeFrames(10), [], [0], TTTConfig(), np.random.default_rng(0), check_last=False
    )
    assert sampler.frame_indices(4, max_jump=10, seq_len=1) == [4]


def test_sample_layout(tiny_videos):
    video = tiny_videos[0]
    sample = sampler_for(video, masks_for(video)).sample(max_jump=10, seq_len=3)
    assert sample.images.shape == (3, 3, 64, 96)
    assert sample.masks.shape == sample.others.shape == (2, 1, 64, 96)
    assert torch.equal(sample.others[0], sample.masks[1]) and torch.equal(sample.others[1], sample.masks[0])
    first = video.annotations[0]
    assert torch.equal(sample.labels, first)
    assert torch.equal(sample.images[0], video.frames[0])
    assert sample.frame_indices[0] == 0


def test_check_last_falls_back_to_a_copy_of_the_first_frame(tiny_videos):
    video = tiny_videos[0]
    masks = masks_for(video, frames_with_second_object={0})  # object 2 vanishes after frame 0
    sample = sampler_for(video, masks, check_last=True).sample(max_jump=10, seq_len=3)
    assert sample.frame_indices[-1] == 0
    assert torch.equal(sample.images[-1], sample.images[0])
    unchecked = sampler_for(video, masks, check_last=False).sample(max_jump=10, seq_len=3)
    assert unchecked.frame_indices[-1] != 0


def test_max_objects_subsets_and_relabels(tiny_videos):
    video = tiny_videos[0]
    sample = sampler_for(video, masks_for(video), max_objects=1).sample(max_jump=10, seq_len=3)
    assert sample.masks.shape[0] == 1
    assert set(sample.labels.unique().tolist()) <= {0, 1}
    # the other object still counts as "other" for the chosen one
    assert sample.others.sum() > 0


def test_several_annotated_frames_draw_one_or_two_objects(tiny_videos):
    video = tiny_videos[0]
    sample = sampler_for(video, masks_for(video), annotated=(0, 2), check_last=False).sample(
        max_jump=10, seq_len=3
    )
    assert sample.frame_indices[0] in (0, 2)
    assert sample.masks.shape[0] == 2
    assert set(sample.labels.unique().tolist()) == {0, 1, 2}


def test_same_seed_same_sequences(tiny_videos):
    video = tiny_videos[0]
    draws = [
        [sampler_for(video, masks_for(video), seed=s).sample(10, 3).frame_indices for _ in range(5)]
        for s in (4, 4)
    ]
    assert draws[0] == draws[1]


@pytest.mark.parametrize("augmentations", [("colour",), ("geometric",), ("colour", "geometric")])
def test_augmented_samples_are_valid(tiny_videos, augmentations):
    video = tiny_videos[0]
    sampler = sampler_for(
        video,
        masks_for(video),
        augmentations=augmentations,
        scale=(0.6, 1.0),
        ratio=(0.8, 1.25),
        resolution=48,
        check_last=False,
    )
    sample = sampler.sample(max_jump=10, seq_len=3)
    assert sample.images.shape == (3, 3, 48, 48)  # square random-resized crops, as the reference
    assert torch.isfinite(sample.images).all()
    assert sample.masks.shape[1:] == (1, 48, 48) and sample.masks.sum() > 0


def test_resolution_resizes_shorter_side(tiny_videos):
    video = tiny_videos[0]
    sample = sampler_for(video, masks_for(video), resolution=32).sample(max_jump=10, seq_len=3)
    assert sample.images.shape[-2:] == (32, 48)

"""XMem's offline training pass (batched, XMem's random choices) against the TTT pass it generalises."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from ttvos.data.io import normalize_frame
from ttvos.data.synthetic import make_synthetic_video
from ttvos.inference.propagation import one_hot
from ttvos.model import xmem_training
from ttvos.model.stcn import other_objects
from ttvos.model.xmem import load_xmem

FRAMES = 5


@pytest.fixture(scope="module")
def network(xmem_checkpoint):
    return load_xmem(xmem_checkpoint)


def _clip(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    video = make_synthetic_video(FRAMES, 32, 48, seed=seed)
    images = torch.stack([normalize_frame(frame) for frame in video.frames])
    labels = torch.from_numpy(video.masks[0].astype("int64"))
    return images, one_hot(labels, int(labels.max()))  # T*3*H*W, O*H*W


def test_draw_choices_follow_xmem_rules():
    rng = np.random.default_rng(0)
    choices = xmem_training.draw_choices(8, 4, 3, 0.2, rng)
    assert len(choices.memory) == 7 and len(choices.deep_update) == 6
    assert choices.memory[2] == ((0, 1, 2),) * 4  # frame 3 reads everything before it
    for t in range(4, 8):
        for frames in choices.memory[t - 1]:
            assert frames[0] == 0 and len(set(frames)) == 3 and all(0 < i < t for i in frames[1:])
    updates = [xmem_training.draw_choices(8, 1, 3, 0.2, rng).deep_update for _ in range(200)]
    assert 0.1 < np.mean(updates) < 0.3


def test_batch_of_clips_is_each_clip_alone(network):
    """Each clip of a padded batch gives the TTT pass's result for that clip alone when every
    earlier frame is read and every frame deep-updates (the TTT pass's fixed choices)."""
    clips = [_clip(4), _clip(9)]
    slots = max(masks.shape[0] for _, masks in clips) + 1  # at least one empty slot
    images = torch.stack([images for images, _ in clips])
    masks = torch.zeros(len(clips), slots, *images.shape[-2:])
    selector = torch.zeros(len(clips), slots)
    for index, (_, clip_masks) in enumerate(clips):
        masks[index, : clip_masks.shape[0]] = clip_masks
        selector[index, : clip_masks.shape[0]] = 1
    memory = tuple(tuple(tuple(range(t)) for _ in clips) for t in range(1, FRAMES))
    choices = xmem_training.TrainingChoices((True,) * (FRAMES - 2), memory)
    with torch.no_grad():
        batched = xmem_training.propagate_batch(network, images, masks, selector, choices)
        for index, (clip_images, clip_masks) in enumerate(clips):
            objects = clip_masks[:, None]
            features = xmem_training.encode(network, clip_images)
            alone = xmem_training.propagate(network, clip_images, features, objects, other_objects(objects))
            for (logits, prob), prediction in zip(batched, alone, strict=True):
                count = clip_masks.shape[0]
                assert_close(prob[index, :count], prediction.prob[:, 0], rtol=0, atol=1e-5)
                assert prob[index, count:].max() < 1e-5  # empty slots
                assert_close(logits[index, : count + 1], prediction.logits[0], rtol=0, atol=1e-3)

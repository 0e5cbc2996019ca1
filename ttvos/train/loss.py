"""The training objectives: bootstrapped cross-entropy over the frames segmented from memory (STCN),
plus a dice loss (XMem). ``LOSSES[config.model]`` is the one a run uses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ttvos.model import xmem_training
from ttvos.model.stcn import STCN
from ttvos.model.training import Objects, propagate_clips
from ttvos.model.xmem import XMem
from ttvos.train.recipe import TrainConfig
from ttvos.train.sources import TrainSequence


def bootstrapped_cross_entropy(logits: Tensor, labels: Tensor, hard_fraction: float) -> Tensor:
    """Mean cross-entropy of the hardest ``hard_fraction`` of the pixels (all of them at 1.0).

    ``logits: 1*C*H*W``, ``labels: 1*H*W``. Focusing on hard pixels late in training sharpens
    boundaries (STCN, after Bootstrapped CE of semantic segmentation).
    """
    if hard_fraction >= 1.0:
        return F.cross_entropy(logits, labels)
    per_pixel = F.cross_entropy(logits, labels, reduction="none").flatten()
    hardest, _ = torch.topk(per_pixel, int(per_pixel.numel() * hard_fraction), sorted=False)
    return hardest.mean()


def sequence_loss(network: STCN, batch: list[TrainSequence], hard_fraction: float) -> Tensor:
    """Segment frames 1 and 2 of every sequence from frame 0 (frame 1 joins the memory with its soft
    prediction) and sum over frames the batch mean of the per-sequence bootstrapped CE, as STCN's
    training does. All sequences go through the network together (BatchNorm sees the whole batch).
    """
    images = torch.stack([s.images for s in batch])  # B*T*3*H*W
    objects = Objects(tuple(s.masks.shape[0] for s in batch))
    masks = torch.cat([s.masks for s in batch])
    features = network.encode_key(images.flatten(end_dim=1))
    per_frame = propagate_clips(network, images, features, masks, objects.others(masks), objects)
    total = torch.zeros((), device=masks.device)
    for index, clips in enumerate(per_frame, start=1):
        for sequence, prediction in zip(batch, clips, strict=True):
            target = sequence.labels[index : index + 1]
            total = total + bootstrapped_cross_entropy(prediction.logits, target, hard_fraction) / len(batch)
    return total


def dice_loss(prob: Tensor, labels: Tensor) -> Tensor:
    """XMem's dice loss, averaged over every (clip, object slot): ``prob: B*K*H*W``, ``labels: B*H*W``
    (slot k is label k + 1; an empty slot with probability ~0 costs ~0)."""
    slots = torch.arange(1, prob.shape[1] + 1, device=labels.device).view(1, -1, 1, 1)
    truth = (labels[:, None] == slots).to(prob.dtype)
    overlap = (prob * truth).flatten(start_dim=2).sum(-1)
    total = prob.flatten(start_dim=2).sum(-1) + truth.flatten(start_dim=2).sum(-1)
    return (1 - (2 * overlap + 1) / (total + 1)).mean()


def xmem_sequence_loss(
    network: XMem,
    batch: list[TrainSequence],
    hard_fraction: float,
    config: TrainConfig,
    rng: np.random.Generator,
) -> Tensor:
    """XMem's trainer loss: frames 1..T-1 of every clip segmented by :func:`xmem_training.propagate_batch`
    (random memory frames and deep updates drawn from ``rng``); per frame, the batch mean of the
    bootstrapped CE over each clip's filled objects plus the dice loss over all object slots."""
    images = torch.stack([s.images for s in batch])  # B*T*3*H*W
    counts = [s.masks.shape[0] for s in batch]
    masks = images.new_zeros(len(batch), config.max_objects, *images.shape[-2:])  # B*K*H*W
    for index, sequence in enumerate(batch):
        masks[index, : counts[index]] = sequence.masks[:, 0]
    selector = (torch.arange(config.max_objects) < torch.tensor(counts)[:, None]).to(images)  # B*K
    choices = xmem_training.draw_choices(
        images.shape[1], len(batch), config.num_ref_frames, config.deep_update_prob, rng
    )
    labels = torch.stack([s.labels for s in batch])  # B*T*H*W
    total = torch.zeros((), device=images.device)
    per_frame = xmem_training.propagate_batch(network, images, masks, selector, choices)
    for index, (logits, prob) in enumerate(per_frame, start=1):
        for clip, count in enumerate(counts):
            clip_logits = logits[clip : clip + 1, : count + 1]
            target = labels[clip, index : index + 1]
            total = total + bootstrapped_cross_entropy(clip_logits, target, hard_fraction) / len(batch)
        total = total + dice_loss(prob, labels[:, index])
    return total


Loss = Callable[[nn.Module, list[TrainSequence], float, TrainConfig, np.random.Generator], Tensor]
LOSSES: dict[str, Loss] = {
    "stcn": lambda network, batch, hard_fraction, config, rng: sequence_loss(network, batch, hard_fraction),
    "xmem": xmem_sequence_loss,
}

"""STCN's training objective: bootstrapped cross-entropy over the frames segmented from memory."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ttvos.model.stcn import STCN
from ttvos.model.training import Objects, propagate_clips
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

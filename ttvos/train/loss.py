"""STCN's training objective: bootstrapped cross-entropy over the frames segmented from memory."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ttvos.model.stcn import STCN, other_objects
from ttvos.model.training import propagate
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
    prediction) and sum over frames the batch mean of the bootstrapped CE, as STCN's training does.

    The keys of all frames of the batch are computed in one call (BatchNorm sees the whole batch).
    """
    length = batch[0].images.shape[0]
    features = network.encode_key(torch.cat([s.images for s in batch]))
    total = torch.zeros((), device=features.key.device)
    for position, sequence in enumerate(batch):
        clip = features.slice(position * length, (position + 1) * length)
        masks = sequence.masks
        predictions = propagate(network, sequence.images, clip, masks, other_objects(masks))
        for index, prediction in enumerate(predictions, start=1):
            target = sequence.labels[index : index + 1]
            total = total + bootstrapped_cross_entropy(prediction.logits, target, hard_fraction) / len(batch)
    return total

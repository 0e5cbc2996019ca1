"""The three test-time training losses, built on the network family's training passes.

The passes (:class:`ttvos.families.TrainingPasses`) are those of the model's offline training:
STCN's (:mod:`ttvos.model.training`) or XMem's (:mod:`ttvos.model.xmem_training`); the losses
are the same for every model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ttvos.families import family_of
from ttvos.model.stcn import other_objects
from ttvos.model.training import Prediction


@dataclass
class TrainingSample:
    """One training sequence, frame 0 first, everything padded to a multiple of 16.

    ``images: T*3*H*W`` normalised frames; ``masks``, ``others: O*1*H*W`` frame 0's masks of the
    O trained objects and the sum of the other objects' masks; ``labels: H*W`` int64 class map of
    frame 0 (0 = background, i = i-th trained object); ``frame_indices``: where the T frames come
    from in the video.
    """

    images: Tensor
    masks: Tensor
    others: Tensor
    labels: Tensor
    frame_indices: tuple[int, ...] = ()

    def to(self, device: torch.device) -> TrainingSample:
        return TrainingSample(
            self.images.to(device),
            self.masks.to(device),
            self.others.to(device),
            self.labels.to(device),
            self.frame_indices,
        )


@dataclass
class LossOutput:
    """The loss and the frame predictions it was computed from (forward / backward half)."""

    loss: Tensor
    forward: list[Prediction]
    backward: list[Prediction]


def mask_cycle_consistency(network: nn.Module, sample: TrainingSample) -> LossOutput:
    """tt-MCC: propagate frame 0's mask forward to the last frame, then back to frame 0.

    The backward half starts from the last frame's *soft* forward prediction (not detached) and
    reuses the keys in reverse order (XMem: with a fresh hidden state, as a new video); the loss
    is the cross-entropy of the recovered frame 0 against its true labels, averaged over all
    (padded) pixels.
    """
    passes = family_of(network).passes
    features = passes.encode(network, sample.images)
    forward = passes.propagate(network, sample.images, features, sample.masks, sample.others)
    start = forward[-1].prob
    backward = passes.propagate(
        network, sample.images.flip(0), passes.reverse(features), start, other_objects(start)
    )
    loss = F.cross_entropy(backward[-1].logits, sample.labels[None])
    return LossOutput(loss, forward, backward)


def auto_encoder(network: nn.Module, sample: TrainingSample) -> LossOutput:
    """tt-AE: decode frame 0 from its own mask's value (no memory read), cross-entropy to its labels."""
    passes = family_of(network).passes
    prediction = passes.reconstruct(network, sample.images[0:1], sample.masks, sample.others)
    return LossOutput(F.cross_entropy(prediction.logits, sample.labels[None]), [prediction], [])


def entropy(network: nn.Module, sample: TrainingSample) -> LossOutput:
    """tt-Ent: mean per-pixel entropy of the aggregated forward predictions of frames 1..T-1."""
    passes = family_of(network).passes
    features = passes.encode(network, sample.images)
    forward = passes.propagate(network, sample.images, features, sample.masks, sample.others)
    logits = torch.cat([p.logits for p in forward], dim=0)
    per_pixel = -(torch.softmax(logits, dim=1) * torch.log_softmax(logits, dim=1)).sum(dim=1)
    return LossOutput(per_pixel.mean(), forward, [])


LossFunction = Callable[[nn.Module, TrainingSample], LossOutput]
LOSSES: dict[str, LossFunction] = {"mcc": mask_cycle_consistency, "ae": auto_encoder, "ent": entropy}

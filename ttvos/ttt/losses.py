"""The three test-time training losses and the differentiable passes they are built on.

These passes follow STCN's *training* network: the memory read-out is a full softmax over every
memory position (no top-k), values of intermediate frames are encoded from the soft, non-detached
predictions, and gradients flow through every pass into every module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ttvos.model.aggregate import aggregate_logits
from ttvos.model.matching import full_softmax
from ttvos.model.stcn import STCN, KeyFeatures, other_objects


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
class Prediction:
    """Aggregated output for one frame: ``logits: 1*(O+1)*H*W`` (background first), ``prob: O*1*H*W``."""

    logits: Tensor
    prob: Tensor


@dataclass
class LossOutput:
    """The loss and the frame predictions it was computed from (forward / backward half)."""

    loss: Tensor
    forward: list[Prediction]
    backward: list[Prediction]


def aggregate_objects(object_prob: Tensor) -> Prediction:
    """Per-object sigmoids ``O*1*H*W`` -> soft-aggregated logits and probabilities."""
    logits = aggregate_logits(object_prob[:, 0], dim=0)[None]
    return Prediction(logits, torch.softmax(logits, dim=1)[0, 1:, None])


def segment_from_memory(
    network: STCN, query: KeyFeatures, memory_keys: Tensor, memory_values: Tensor
) -> Prediction:
    """Segment one query frame from memory with a full softmax read-out.

    ``query``: features of one frame; ``memory_keys: 1*CK*N``; ``memory_values: O*CV*N``.
    """
    num_objects, value_dim = memory_values.shape[:2]
    height, width = query.key.shape[-2:]
    weights = full_softmax(network.affinity(memory_keys, query.key.flatten(start_dim=2)))
    readout = network.read(weights.expand(num_objects, -1, -1), memory_values)
    readout = readout.view(num_objects, value_dim, height, width)
    return aggregate_objects(torch.sigmoid(network.decode(readout, query)))


def propagate(
    network: STCN, images: Tensor, features: KeyFeatures, masks: Tensor, others: Tensor
) -> list[Prediction]:
    """Segment frames 1..T-1 from frame 0's masks; frames 1..T-2 join the memory with soft masks.

    ``images: T*3*H*W`` with their key ``features``; ``masks``, ``others: O*1*H*W`` for frame 0.
    """
    values = network.encode_value(images[0:1], features.f16[0:1], masks, others)
    memory_keys = [features.key[0:1].flatten(start_dim=2)]
    memory_values = [values.flatten(start_dim=2)]
    predictions = []
    last = images.shape[0] - 1
    for index in range(1, last + 1):
        query = features.frame(index)
        prediction = segment_from_memory(
            network, query, torch.cat(memory_keys, 2), torch.cat(memory_values, 2)
        )
        predictions.append(prediction)
        if index < last:
            prob = prediction.prob
            value = network.encode_value(images[index : index + 1], query.f16, prob, other_objects(prob))
            memory_keys.append(query.key.flatten(start_dim=2))
            memory_values.append(value.flatten(start_dim=2))
    return predictions


def mask_cycle_consistency(network: STCN, sample: TrainingSample) -> LossOutput:
    """tt-MCC: propagate frame 0's mask forward to the last frame, then back to frame 0.

    The backward half starts from the last frame's *soft* forward prediction (not detached) and
    reuses the keys in reverse order; the loss is the cross-entropy of the recovered frame 0 against
    its true labels, averaged over all (padded) pixels.
    """
    features = network.encode_key(sample.images)
    forward = propagate(network, sample.images, features, sample.masks, sample.others)
    start = forward[-1].prob
    backward = propagate(network, sample.images.flip(0), features.flip(), start, other_objects(start))
    loss = F.cross_entropy(backward[-1].logits, sample.labels[None])
    return LossOutput(loss, forward, backward)


def auto_encoder(network: STCN, sample: TrainingSample) -> LossOutput:
    """tt-AE: decode frame 0 from its own mask's value (no memory read), cross-entropy to its labels.

    The key projection is computed but unused, so it receives no gradient (as in the reference).
    """
    features = network.encode_key(sample.images[0:1])
    values = network.encode_value(sample.images[0:1], features.f16, sample.masks, sample.others)
    prediction = aggregate_objects(torch.sigmoid(network.decode(values, features)))
    return LossOutput(F.cross_entropy(prediction.logits, sample.labels[None]), [prediction], [])


def entropy(network: STCN, sample: TrainingSample) -> LossOutput:
    """tt-Ent: mean per-pixel entropy of the aggregated forward predictions of frames 1..T-1."""
    features = network.encode_key(sample.images)
    forward = propagate(network, sample.images, features, sample.masks, sample.others)
    logits = torch.cat([p.logits for p in forward], dim=0)
    per_pixel = -(torch.softmax(logits, dim=1) * torch.log_softmax(logits, dim=1)).sum(dim=1)
    return LossOutput(per_pixel.mean(), forward, [])


LossFunction = Callable[[STCN, TrainingSample], LossOutput]
LOSSES: dict[str, LossFunction] = {"mcc": mask_cycle_consistency, "ae": auto_encoder, "ent": entropy}

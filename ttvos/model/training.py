"""STCN's differentiable *training* passes, shared by offline training and test-time training.

They follow the official training network: the memory read-out is a full softmax over every memory
position (no top-k), values of intermediate frames are encoded from the soft, non-detached
predictions, and gradients flow through every pass into every module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ttvos.model.aggregate import aggregate_logits
from ttvos.model.matching import full_softmax
from ttvos.model.stcn import STCN, KeyFeatures, other_objects


@dataclass
class Prediction:
    """Aggregated output for one frame: ``logits: 1*(O+1)*H*W`` (background first), ``prob: O*1*H*W``."""

    logits: Tensor
    prob: Tensor


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

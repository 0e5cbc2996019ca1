"""STCN's differentiable *training* passes, shared by offline training and test-time training.

They follow the official training network: the memory read-out is a full softmax over every memory
position (no top-k), values of intermediate frames are encoded from the soft, non-detached
predictions, and gradients flow through every pass into every module.

Several clips can go through one pass together (offline training batches them); each clip has its
own objects, its own memory and its own aggregation, exactly as if it ran alone. Objects of all
clips are stacked along the first dimension; :class:`Objects` records which clip each belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ttvos.model.aggregate import aggregate_logits
from ttvos.model.matching import full_softmax
from ttvos.model.stcn import STCN, KeyFeatures


@dataclass
class Prediction:
    """Aggregated output for one frame: ``logits: 1*(O+1)*H*W`` (background first), ``prob: O*1*H*W``."""

    logits: Tensor
    prob: Tensor


@dataclass(frozen=True)
class Objects:
    """How the stacked objects of a batch of clips split: ``counts[b]`` objects belong to clip b."""

    counts: tuple[int, ...]

    def clip_index(self, device: torch.device) -> Tensor:
        """``sum(counts)``: the clip of every stacked object."""
        counts = torch.tensor(self.counts, device=device)
        return torch.repeat_interleave(torch.arange(len(self.counts), device=device), counts)

    def split(self, stacked: Tensor) -> tuple[Tensor, ...]:
        return torch.split(stacked, list(self.counts))

    def others(self, masks: Tensor) -> Tensor:
        """For each object, the sum of the masks of the *other* objects of its clip."""
        return torch.cat([m.sum(dim=0, keepdim=True) - m for m in self.split(masks)])


def aggregate_objects(object_prob: Tensor) -> Prediction:
    """Per-object sigmoids ``O*1*H*W`` of one clip -> soft-aggregated logits and probabilities."""
    logits = aggregate_logits(object_prob[:, 0], dim=0)[None]
    return Prediction(logits, torch.softmax(logits, dim=1)[0, 1:, None])


def segment_clips(
    network: STCN, query: KeyFeatures, memory_keys: Tensor, memory_values: Tensor, objects: Objects
) -> list[Prediction]:
    """Segment one query frame per clip from that clip's memory (full softmax read-out).

    ``query``: B frames; ``memory_keys: B*CK*N``; ``memory_values: K*CV*N`` (K stacked objects).
    """
    value_dim = memory_values.shape[1]
    height, width = query.key.shape[-2:]
    clip = objects.clip_index(memory_values.device)
    weights = full_softmax(network.affinity(memory_keys, query.key.flatten(start_dim=2)))  # B*N*M
    readout = network.read(weights[clip], memory_values).view(-1, value_dim, height, width)
    object_prob = torch.sigmoid(network.decode(readout, query, clip))
    return [aggregate_objects(prob) for prob in objects.split(object_prob)]


def segment_from_memory(
    network: STCN, query: KeyFeatures, memory_keys: Tensor, memory_values: Tensor
) -> Prediction:
    """One clip: ``query`` one frame, ``memory_keys: 1*CK*N``, ``memory_values: O*CV*N``."""
    return segment_clips(network, query, memory_keys, memory_values, Objects((memory_values.shape[0],)))[0]


def propagate_clips(
    network: STCN, images: Tensor, features: KeyFeatures, masks: Tensor, others: Tensor, objects: Objects
) -> list[list[Prediction]]:
    """Segment frames 1..T-1 of every clip from its frame 0; frames 1..T-2 join the memory softly.

    ``images: B*T*3*H*W`` with the key ``features`` of its B*T frames (clip after clip);
    ``masks``, ``others: K*1*H*W`` frame 0's masks of the K stacked objects. Returns, per frame
    1..T-1, one :class:`Prediction` per clip.
    """
    num_clips, length = images.shape[:2]
    clip = objects.clip_index(masks.device)
    frames = images.flatten(end_dim=1)

    def at(index: int) -> tuple[Tensor, KeyFeatures]:
        rows = torch.arange(num_clips, device=masks.device) * length + index
        return frames[rows], features.take(rows)

    image, first = at(0)
    values = network.encode_value(image[clip], first.f16[clip], masks, others)
    memory_keys = [first.key.flatten(start_dim=2)]
    memory_values = [values.flatten(start_dim=2)]
    predictions = []
    for index in range(1, length):
        image, query = at(index)
        per_clip = segment_clips(
            network, query, torch.cat(memory_keys, 2), torch.cat(memory_values, 2), objects
        )
        predictions.append(per_clip)
        if index < length - 1:
            prob = torch.cat([p.prob for p in per_clip])
            value = network.encode_value(image[clip], query.f16[clip], prob, objects.others(prob))
            memory_keys.append(query.key.flatten(start_dim=2))
            memory_values.append(value.flatten(start_dim=2))
    return predictions


def propagate(
    network: STCN, images: Tensor, features: KeyFeatures, masks: Tensor, others: Tensor
) -> list[Prediction]:
    """One clip: ``images: T*3*H*W`` with their ``features``; ``masks``, ``others: O*1*H*W``."""
    per_frame = propagate_clips(network, images[None], features, masks, others, Objects((masks.shape[0],)))
    return [clips[0] for clips in per_frame]

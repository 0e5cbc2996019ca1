"""XMem's differentiable *training* passes (XMem's ``train.py``), used by test-time training.

A sequence is propagated as XMem's trainer propagates it: the key features of every frame are
computed at once; frame 0's value comes from its given masks, with a deep update of a zero hidden
state; each later frame reads the values of all earlier frames through a *full* softmax over the
anisotropic similarity (the memory frames' shrinkage, the query's selection; no top-k, no
long-term memory) and is decoded with the hidden state, which the decoder updates except on the
last frame; every frame but the last then joins the memory with the value of its soft,
non-detached prediction, an encoding that also deep-updates the hidden state. Gradients flow
through the read-outs, the values and the hidden state (the sensory memory's GRUs) across the
whole sequence.

Two of the trainer's random choices are fixed instead, so that a pass depends on its sample
alone (replays are exact): every intermediate frame is deep-updated (the trainer: with
probability 0.2), and every frame reads the whole memory (the trainer reads a random subset of 3
frames beyond its 4th frame; the paper's TTT sequences have 3 frames, where both rules agree).

Offline training (``ttvos train``) runs :func:`propagate_batch` instead: XMem's trainer itself, with
its random choices (:func:`draw_choices`) and a batch of clips whose object slots are padded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ttvos.model.aggregate import aggregate_logits
from ttvos.model.matching import full_softmax
from ttvos.model.training import Prediction, aggregate_objects
from ttvos.model.xmem import XMem, XMemKeyFeatures, similarity


def encode(network: XMem, images: Tensor) -> XMemKeyFeatures:
    """``images: T*3*H*W`` -> the key features of the T frames, with shrinkage and selection."""
    return network.encode_key(images)


def reverse(features: XMemKeyFeatures) -> XMemKeyFeatures:
    """The features in reverse time order (the backward half of the mask cycle)."""
    return features.flip()


def read(
    memory_key: Tensor, memory_shrinkage: Tensor, memory_value: Tensor, query: XMemKeyFeatures
) -> Tensor:
    """Full-softmax memory read-out for one query frame.

    ``memory_key: 1*CK*N``, ``memory_shrinkage: 1*1*N``, ``memory_value: O*CV*N`` -> ``1*O*CV*h*w``.
    """
    assert query.selection is not None
    height, width = query.key.shape[-2:]
    query_key, selection = query.key.flatten(start_dim=2), query.selection.flatten(start_dim=2)
    affinity = full_softmax(similarity(memory_key, memory_shrinkage, query_key, selection))  # 1*N*M
    readout = memory_value @ affinity[0]  # O*CV*M
    return readout.view(1, *memory_value.shape[:2], height, width)


def _first_value(
    network: XMem, image: Tensor, features: XMemKeyFeatures, masks: Tensor, others: Tensor
) -> tuple[Tensor, Tensor]:
    """Frame 0's value ``1*O*CV*h*w`` and hidden state from its masks ``O*1*H*W`` (deep update)."""
    hidden = features.key.new_zeros(1, masks.shape[0], network.hidden_dim, *features.key.shape[-2:])
    return network.encode_value(image, features.f16, hidden, masks[:, 0][None], others[:, 0][None])


def propagate(
    network: XMem, images: Tensor, features: XMemKeyFeatures, masks: Tensor, others: Tensor
) -> list[Prediction]:
    """Segment frames 1..T-1 from frame 0's masks, with a fresh (zero) hidden state.

    ``images: T*3*H*W`` with their ``features``; ``masks``, ``others: O*1*H*W`` frame 0's masks
    of the O objects and the sum of the other objects' masks. Returns one prediction per frame.
    """
    length = images.shape[0]
    first = features.frame(0)
    assert first.shrinkage is not None
    value, hidden = _first_value(network, images[0:1], first, masks, others)
    keys, shrinkages = [first.key.flatten(start_dim=2)], [first.shrinkage.flatten(start_dim=2)]
    values = [value[0].flatten(start_dim=2)]  # O*CV*hw per memory frame
    predictions = []
    for index in range(1, length):
        query = features.frame(index)
        is_last = index == length - 1
        readout = read(torch.cat(keys, dim=2), torch.cat(shrinkages, dim=2), torch.cat(values, dim=2), query)
        logits, hidden = network.decode(readout, hidden, query, update_hidden=not is_last)
        prediction = aggregate_objects(torch.sigmoid(logits)[0][:, None])
        predictions.append(prediction)
        if not is_last:
            assert query.shrinkage is not None
            value, hidden = network.encode_value(
                images[index : index + 1], query.f16, hidden, prediction.prob[:, 0][None]
            )
            keys.append(query.key.flatten(start_dim=2))
            shrinkages.append(query.shrinkage.flatten(start_dim=2))
            values.append(value[0].flatten(start_dim=2))
    return predictions


def reconstruct(network: XMem, image: Tensor, masks: Tensor, others: Tensor) -> Prediction:
    """Frame ``image: 1*3*H*W`` decoded from its own masks' value, without any memory read.

    The decoder also reads the hidden state, here the one that value's deep update gives a zero
    state (XMem's decoder always needs one). The key projection is computed but unused, so it
    receives no gradient (as STCN's tt-AE).
    """
    features = network.encode_key(image, need_shrinkage=False, need_selection=False)
    value, hidden = _first_value(network, image, features, masks, others)
    logits, _ = network.decode(value, hidden, features, update_hidden=False)
    return aggregate_objects(torch.sigmoid(logits)[0][:, None])


# -- offline training (``ttvos train``): XMem's trainer with its random choices ---------------------


@dataclass(frozen=True)
class TrainingChoices:
    """The random choices of XMem's trainer for one batch of T-frame clips.

    ``deep_update[t - 1]``: whether frame t (1..T-2) deep-updates the hidden state when it joins
    the memory; ``memory[t - 1][b]``: the earlier frames clip b reads when segmenting frame t.
    """

    deep_update: tuple[bool, ...]
    memory: tuple[tuple[tuple[int, ...], ...], ...]


def draw_choices(
    length: int, batch: int, num_ref_frames: int, deep_update_prob: float, rng: np.random.Generator
) -> TrainingChoices:
    """XMem's rule: frame t reads all earlier frames while ``t <= num_ref_frames``, afterwards frame 0
    and ``num_ref_frames - 1`` distinct random frames of 1..t-1 (per clip); an intermediate frame
    deep-updates the hidden state with probability ``deep_update_prob``."""
    memory = []
    for t in range(1, length):
        if t <= num_ref_frames:
            memory.append(tuple(tuple(range(t)) for _ in range(batch)))
        else:
            memory.append(
                tuple((0, *(1 + rng.permutation(t - 1)[: num_ref_frames - 1]).tolist()) for _ in range(batch))
            )
    deep_update = tuple(bool(rng.random() < deep_update_prob) for _ in range(1, length - 1))
    return TrainingChoices(deep_update, tuple(memory))


def _gather(per_frame: list[Tensor], memory: tuple[tuple[int, ...], ...]) -> Tensor:
    """Per clip b, the frames ``memory[b]`` of ``per_frame`` (each ``B*...*h*w``) side by side:
    ``B*...*(n*h*w)``, frame-major as XMem's memory."""
    return torch.stack(
        [
            torch.cat([per_frame[i][b].flatten(start_dim=-2) for i in frames], dim=-1)
            for b, frames in enumerate(memory)
        ]
    )


def propagate_batch(
    network: XMem, images: Tensor, masks: Tensor, selector: Tensor, choices: TrainingChoices
) -> list[tuple[Tensor, Tensor]]:
    """XMem's training pass over a batch of clips, as its trainer runs it.

    ``images: B*T*3*H*W``; ``masks: B*K*H*W`` frame 0's masks of K object slots, of which
    ``selector: B*K`` (1 or 0) marks the filled ones (empty slots get probability 0). The key
    features of all B*T frames are computed at once; each frame t reads the memory frames
    ``choices`` picked for it through a full softmax. Returns per frame 1..T-1 the aggregated
    logits ``B*(K+1)*H*W`` (background first) and the object probabilities ``B*K*H*W``.
    """
    batch, length = images.shape[:2]
    features = network.encode_key(images.transpose(0, 1).flatten(end_dim=1))  # frame-major: t*B + b
    frames = [features.take(slice(t * batch, (t + 1) * batch)) for t in range(length)]
    hidden = masks.new_zeros(batch, masks.shape[1], network.hidden_dim, *features.key.shape[-2:])
    value, hidden = network.encode_value(images[:, 0], frames[0].f16, hidden, masks)
    values = [value]
    keys = [f.key for f in frames]
    shrinkages = [f.shrinkage for f in frames]
    outputs = []
    for t in range(1, length):
        query, memory, is_last = frames[t], choices.memory[t - 1], t == length - 1
        assert query.selection is not None
        affinity = full_softmax(
            similarity(
                _gather(keys, memory),
                _gather(shrinkages, memory),  # type: ignore[arg-type]
                query.key.flatten(start_dim=2),
                query.selection.flatten(start_dim=2),
            )
        )  # B*N*hw
        memory_value = _gather(values, memory)  # B*K*CV*N
        readout = torch.bmm(memory_value.flatten(1, 2), affinity).view(
            *memory_value.shape[:3], *query.key.shape[-2:]
        )
        logits, hidden = network.decode(readout, hidden, query, update_hidden=not is_last)
        logits = aggregate_logits(torch.sigmoid(logits) * selector[:, :, None, None], dim=1)
        prob = torch.softmax(logits, dim=1)[:, 1:]
        outputs.append((logits, prob))
        if not is_last:
            value, hidden = network.encode_value(
                images[:, t], query.f16, hidden, prob, deep_update=choices.deep_update[t - 1]
            )
            values.append(value)
    return outputs

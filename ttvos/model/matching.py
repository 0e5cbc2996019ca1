"""Memory read-out: L2-similarity affinity between memory and query keys, and its two normalisations.

Inference (STCN's ``MemoryBank``) keeps the ``top_k`` memory entries per query position; training
and test-time training (STCN's ``MemoryReader``) use a full softmax over all memory positions.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def l2_affinity(memory_key: Tensor, query_key: Tensor) -> Tensor:
    """Negative squared L2 distance up to the per-query constant ``|q|^2``, scaled by ``1/sqrt(CK)``.

    ``memory_key: B*CK*N, query_key: B*CK*M -> B*N*M``. The ``|q|^2`` term is dropped because every
    softmax over the memory axis ignores it.
    """
    key_dim = memory_key.shape[1]
    mem_sq = memory_key.pow(2).sum(1).unsqueeze(2)  # B*N*1
    dot = memory_key.transpose(1, 2) @ query_key  # B*N*M
    return (2 * dot - mem_sq) / math.sqrt(key_dim)


def top_k_softmax(affinity: Tensor, top_k: int) -> Tensor:
    """Softmax over the ``top_k`` largest entries of each query column, zeros elsewhere.

    ``affinity: B*N*M -> B*N*M``. The official inference code takes the exponent of the raw values;
    that overflows float32 (NaN masks) once affinities pass ~88, which a network with large keys
    reaches (ttvos's tiny model does: up to ~440). The column maximum is subtracted first: the same
    softmax, equal to the official result up to float rounding wherever the official one is finite.
    Evaluated in float32 so that AMP cannot overflow it either.
    """
    values, indices = torch.topk(affinity, k=top_k, dim=1)  # sorted: row 0 holds each column's max
    values = values.float()
    weights = (values - values[:, :1]).exp()
    weights = weights / weights.sum(dim=1, keepdim=True)
    return torch.zeros_like(affinity).scatter_(1, indices, weights.to(affinity.dtype))


def full_softmax(affinity: Tensor) -> Tensor:
    """Softmax over all memory positions (max subtracted), as STCN's training network does."""
    return torch.softmax(affinity, dim=1)


def read_memory(affinity: Tensor, memory_value: Tensor) -> Tensor:
    """Weighted sum of memory values: ``affinity: B*N*M, memory_value: B*CV*N -> B*CV*M``."""
    return torch.bmm(memory_value, affinity)

"""Soft aggregation of per-object probabilities (from STM), shared by inference and training."""

from __future__ import annotations

import torch
from torch import Tensor

PROB_EPS = 1e-7


def aggregate_logits(prob: Tensor, dim: int = 0) -> Tensor:
    """Per-object probabilities (K along ``dim``) -> K+1 logits, background first.

    Background is ``prod(1 - p_i)``; everything is clamped to ``[1e-7, 1 - 1e-7]`` before the
    logit, so a one-hot mask becomes ``0.99999976``-ish after the softmax, as in the reference.
    """
    background = torch.prod(1 - prob, dim=dim, keepdim=True)
    full = torch.cat([background, prob], dim=dim).clamp(PROB_EPS, 1 - PROB_EPS)
    return torch.log(full / (1 - full))


def aggregate(prob: Tensor, dim: int = 0) -> Tensor:
    """Per-object probabilities -> K+1 probabilities summing to one (background first)."""
    return torch.softmax(aggregate_logits(prob, dim), dim=dim)

"""Zero padding to a multiple of the network stride (16), split as the reference splits it."""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

STRIDE = 16


class Padding(NamedTuple):
    """Pixels added on each side, in ``F.pad`` order."""

    left: int
    right: int
    top: int
    bottom: int


def padding_for(height: int, width: int, multiple: int = STRIDE) -> Padding:
    """floor(d/2) before and the rest after, where d brings the size up to a multiple."""
    pad_h, pad_w = -height % multiple, -width % multiple
    return Padding(pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)


def pad(x: Tensor, multiple: int = STRIDE) -> tuple[Tensor, Padding]:
    """Zero-pad the last two dimensions of ``x`` (``*...*H*W``) to multiples of ``multiple``."""
    padding = padding_for(x.shape[-2], x.shape[-1], multiple)
    return (F.pad(x, padding) if any(padding) else x), padding


def unpad(x: Tensor, padding: Padding) -> Tensor:
    """Inverse of :func:`pad` on the last two dimensions."""
    height, width = x.shape[-2:]
    return x[..., padding.top : height - padding.bottom, padding.left : width - padding.right]

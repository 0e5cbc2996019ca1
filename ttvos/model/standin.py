"""Deterministic stand-in weights, for demos and tests where the released checkpoints are absent.

The rule is the one of the project's conformance data (``shared/golden/fill_weights.py``), so the
demo runs the very network the conformance tests check: every tensor is drawn from a generator
seeded with ``crc32(key)``; BatchNorm gets weight ``1 + 0.1 n``, bias ``0.1 n``, running mean
``0.1 n`` and variance ``0.5 + u``; other biases ``0.02 n``; conv/linear weights
``n * gain / sqrt(fan_in)`` with a larger gain for three layers, tuned per model family (STCN,
XMem: ``shared/golden/xmem/fill_weights.py``) so that features, affinities and probabilities
behave like those of a trained model (n ~ N(0, 1), u ~ U(0, 1)).
The masks it predicts are not meaningful; every code path is exercised.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ttvos.model.sizes import FULL, ModelSize
from ttvos.model.stcn import STCN
from ttvos.model.xmem import XMem

Family = Literal["stcn", "xmem"]

# Per family: the network and the weight gains (first pattern contained in the key wins; else 1).
_FAMILIES: dict[str, tuple[Callable[[ModelSize], nn.Module], dict[str, float]]] = {
    "stcn": (
        STCN,
        {"key_proj.key_proj.weight": 0.5, "decoder.pred.weight": 2.5, "value_encoder.conv1.weight": 3.0},
    ),
    "xmem": (
        XMem,
        {"key_proj.key_proj.weight": 0.5, "decoder.pred.weight": 5.0, "value_encoder.conv1.weight": 6.0},
    ),
}


def _draw(
    key: str, shape: tuple[int, ...], dtype: torch.dtype, is_batch_norm: bool, gains: dict[str, float]
) -> Tensor:
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    suffix = key.rsplit(".", 1)[-1]
    if suffix == "num_batches_tracked":
        return torch.zeros(shape, dtype=dtype)
    if suffix == "running_mean":
        return 0.1 * torch.randn(shape, generator=generator)
    if suffix == "running_var":
        return 0.5 + torch.rand(shape, generator=generator)
    if is_batch_norm:
        noise = torch.randn(shape, generator=generator)
        return 1.0 + 0.1 * noise if suffix == "weight" else 0.1 * noise
    if suffix == "bias":
        return 0.02 * torch.randn(shape, generator=generator)
    gain = next((g for pattern, g in gains.items() if pattern in key), 1.0)
    return torch.randn(shape, generator=generator) * (gain / math.sqrt(math.prod(shape[1:])))


def standin_state_dict(size: ModelSize = FULL, family: Family = "stcn") -> dict[str, Tensor]:
    """The stand-in state dict of ``family`` (full size: STCN's 405 or XMem's 412 entries, official order)."""
    build, gains = _FAMILIES[family]
    with torch.device("meta"):
        template = build(size).state_dict()
    batch_norms = {key.rsplit(".", 1)[0] for key in template if key.endswith(".running_var")}
    return {
        key: _draw(key, tuple(t.shape), t.dtype, key.rsplit(".", 1)[0] in batch_norms, gains).to(t.dtype)
        for key, t in template.items()
    }

"""The embedded tiny XMem: resolved by name like `tiny`, an XMem of the tiny size, and its configs."""

from __future__ import annotations

import pytest

from ttvos.config import load_config
from ttvos.errors import UserError
from ttvos.model.sizes import TINY
from ttvos.model.xmem import load_xmem
from ttvos.weights import resolve_weights


def test_tiny_xmem_resolves_to_the_packaged_xmem():
    path = resolve_weights("tiny_xmem", "xmem")
    assert path is not None and path.parts[-3:] == ("ttvos", "embedded", "tiny_xmem.pth")
    assert load_xmem(path).size == TINY
    with pytest.raises(UserError, match="for model xmem"):
        resolve_weights("tiny_xmem", "stcn")


def test_bundled_configs_run_it_with_tiny_mcc_settings():
    baseline, adapted, stcn = load_config("tiny_xmem"), load_config("tiny_xmem_mcc"), load_config("tiny_mcc")
    assert (baseline.model, baseline.weights, baseline.ttt.enabled) == ("xmem", "tiny_xmem", False)
    assert (adapted.model, adapted.weights, adapted.inference) == ("xmem", "tiny_xmem", baseline.inference)
    assert adapted.ttt == stcn.ttt
    assert baseline.inference.resolution == stcn.inference.resolution

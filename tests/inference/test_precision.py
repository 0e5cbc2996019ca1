"""Mixed precision: which dtype runs where, and bfloat16 inference close to full precision."""

from __future__ import annotations

import logging

import pytest
import torch

from ttvos.inference import InferenceCore, labels_from_prob, precision
from ttvos.model import STCN

CPU = torch.device("cpu")


def test_full_precision_and_legacy_true_on_cpu():
    assert precision.autocast_dtype(False, CPU) is None
    assert precision.autocast_dtype(True, CPU) is None  # true = float16 on CUDA only, as before


def test_a_dtype_the_cpu_cannot_run_natively_falls_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(precision, "cpu_native", lambda name: False)
    monkeypatch.setattr(precision, "_warned", set())
    with caplog.at_level(logging.WARNING):
        assert precision.autocast_dtype("bfloat16", CPU) is None
    assert "no native bfloat16" in caplog.text and "full precision" in caplog.text


def test_native_dtypes_are_used_and_only_float16_scales_gradients(monkeypatch):
    monkeypatch.setattr(precision, "cpu_native", lambda name: True)
    assert precision.autocast_dtype("bfloat16", CPU) == torch.bfloat16
    assert precision.autocast_dtype("float16", CPU) == torch.float16
    assert precision.needs_grad_scaling("float16", CPU)
    assert not precision.needs_grad_scaling("bfloat16", CPU)


@pytest.fixture()
def clip():
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(4, 3, 32, 48, generator=generator)
    mask = torch.zeros(32, 48, dtype=torch.long)
    mask[4:20, 6:30] = 1
    mask[18:30, 28:44] = 2
    return frames, mask


def test_bfloat16_inference_is_deterministic_and_close_to_float32(monkeypatch, standin_network: STCN, clip):
    """Forced on even where oneDNN emulates bfloat16 (slow, but the numbers are the same)."""
    monkeypatch.setattr(precision, "cpu_native", lambda name: True)
    frames, mask = clip
    runs = {
        amp: [p.prob for p in InferenceCore(standin_network, amp=amp).propagate(frames, {0: mask})]
        for amp in (False, "bfloat16")
    }
    again = [p.prob for p in InferenceCore(standin_network, amp="bfloat16").propagate(frames, {0: mask})]
    assert all(torch.equal(a, b) for a, b in zip(runs["bfloat16"], again, strict=True))
    assert all(p.dtype == torch.float32 for p in runs["bfloat16"])
    for full, half in zip(runs[False][1:], runs["bfloat16"][1:], strict=True):
        assert not torch.equal(full, half)  # it really ran in bfloat16
        agree = (labels_from_prob(full) == labels_from_prob(half)).float().mean()
        assert agree > 0.95

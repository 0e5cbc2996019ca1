"""Checks a sweep makes before running: what precision will actually run on the device."""

from __future__ import annotations

import torch

import ttvos.inference.precision as precision
from ttvos.config import load_config, replace
from ttvos.sweep import _what_runs_on


def test_amp_that_cannot_run_is_recorded_as_full_precision(monkeypatch):
    monkeypatch.setattr(precision, "unsupported", lambda device, name: None)  # a CPU with native bf16
    configs = [
        replace(load_config("stcn"), name="plain"),
        replace(load_config("stcn"), name="half", amp=True),
        replace(load_config("stcn"), name="bf16", amp="bfloat16"),
    ]
    ran = {c.name: c.amp for c in _what_runs_on(torch.device("cpu"), configs)}
    assert ran == {"plain": False, "half": False, "bf16": "bfloat16"}  # True means float16 on CUDA only
    monkeypatch.setattr(precision, "unsupported", lambda device, name: "no native bfloat16")
    assert _what_runs_on(torch.device("cpu"), configs)[2].amp is False

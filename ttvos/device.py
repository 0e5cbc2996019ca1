"""Choosing the compute device from ``--device auto|cpu|cuda|mps``."""

from __future__ import annotations

from typing import Literal

import torch

from ttvos.errors import UserError

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable explicit choice is an error.

    ``cuda:N`` selects one GPU (``torchrun`` ranks use ``LOCAL_RANK`` this way).
    """
    mps_available = torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available else "cpu")
    kind = name.split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    if kind == "mps" and not mps_available:
        raise UserError("--device mps: Apple MPS is not available here; use --device cpu or auto")
    if kind not in ("cpu", "cuda", "mps"):
        raise UserError(f"--device {name}: expected auto, cpu, cuda, cuda:N or mps")
    return torch.device(name)

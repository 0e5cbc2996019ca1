"""Mixed precision (autocast) for inference and test-time training: which dtype runs where.

A config's ``amp`` is ``false`` (full precision, the reference's), ``true`` (float16 on CUDA, as
the reference's ``--amp``; nothing elsewhere), ``float16`` or ``bfloat16``. Autocast runs the
convolutions and matrix products in the half dtype and keeps reductions and the losses in float32;
the top-k softmax is evaluated in float32 (:func:`ttvos.model.matching.top_k_softmax`).

A half dtype runs only where the hardware computes it natively: on a CPU without native bfloat16
(or float16) oneDNN *emulates* it, tens of times slower than float32, so the run stays in full
precision with a warning instead (:func:`unsupported`).
"""

from __future__ import annotations

import contextlib
import logging

import torch

from ttvos.config import AmpDtype

logger = logging.getLogger(__name__)

Amp = bool | AmpDtype  # a config's `amp` value
DTYPES: dict[str, torch.dtype] = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def unsupported(device: torch.device, name: AmpDtype) -> str | None:
    """Why ``name`` cannot run natively on ``device`` (one line), or ``None`` when it can."""
    if device.type == "cuda":
        if name == "bfloat16" and not torch.cuda.is_bf16_supported():
            return f"this GPU ({torch.cuda.get_device_name(device)}) has no native bfloat16"
        return None
    if device.type == "cpu":
        if cpu_native(name):
            return None
        return f"this CPU has no native {name} (oneDNN would emulate it, tens of times slower)"
    return f"{name} autocast is not supported on {device.type}"


def cpu_native(name: AmpDtype) -> bool:
    """Whether oneDNN runs ``name`` natively on this CPU (AVX-512 BF16 / FP16, AMX)."""
    if name == "bfloat16":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())


def autocast_dtype(amp: Amp, device: torch.device) -> torch.dtype | None:
    """The autocast dtype ``amp`` asks for on ``device``, or ``None`` for full precision.

    ``True`` keeps its historical meaning (float16 on CUDA only). A dtype the device cannot run
    natively falls back to full precision with a warning (once per device and dtype).
    """
    if amp is False:
        return None
    if amp is True:
        return torch.float16 if device.type == "cuda" else None
    reason = unsupported(device, amp)
    if reason is not None:
        _warn_once(f"amp {amp}: {reason}; running in full precision")
        return None
    return DTYPES[amp]


def autocast(amp: Amp, device: torch.device) -> contextlib.AbstractContextManager[None]:
    """The autocast context for ``amp`` on ``device`` (a no-op for full precision)."""
    dtype = autocast_dtype(amp, device)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def needs_grad_scaling(amp: Amp, device: torch.device) -> bool:
    """float16 gradients underflow without loss scaling; bfloat16 has float32's exponent range."""
    return autocast_dtype(amp, device) == torch.float16


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)

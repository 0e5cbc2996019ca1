"""Loading the official STCN checkpoints (``stcn.pth``, ``stcn_s01.pth``, ``stcn_s0.pth``) unchanged,
and ttvos's own checkpoints, which also say the network size and family
(``{"ttvos_model": size, "ttvos_family": "stcn" | "xmem", "state_dict": ...}``; files written before the
family was recorded hold STCN). The reading, conversion and checks are shared with XMem's loader
(:func:`ttvos.model.xmem.load_xmem`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from os import PathLike
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor

from ttvos.errors import UserError
from ttvos.model.sizes import FULL, ModelSize
from ttvos.model.stcn import STCN

StateDict = dict[str, Tensor]
NetworkT = TypeVar("NetworkT", bound=torch.nn.Module)

_VALUE_CONV1 = "value_encoder.conv1.weight"
_SHOWN = 5  # how many offending keys an error message lists
_SIZE_KEY = "ttvos_model"  # a ttvos checkpoint: {_SIZE_KEY: ModelSize.to_dict(), "state_dict": ...}
_FAMILY_KEY = "ttvos_family"  # ... and the network family ("stcn", "xmem"); absent: "stcn"


class CheckpointError(UserError):
    """A checkpoint file that cannot be read or does not fit the network (STCN or XMem)."""


def read_checkpoint(path: str | PathLike[str], family: str | None = None) -> tuple[ModelSize, StateDict]:
    """Read a checkpoint file onto the CPU without executing pickled code (``weights_only``).

    Returns the network size it was saved with (the full size for official, plain state dicts).
    With ``family`` ("stcn", "xmem"), a ttvos file that records another family is refused: its
    tensors might even fit the other network's keys, but never its computation.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    _check_format(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # whatever the unpickler raises, the file is at fault
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupt download?): {_reason(error)}"
        ) from error
    size = FULL
    if isinstance(state, Mapping) and _SIZE_KEY in state:
        try:
            size = ModelSize.from_dict(state[_SIZE_KEY])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: unreadable network size in the checkpoint: {error}") from error
        recorded = state.get(_FAMILY_KEY, "stcn")
        if family is not None and recorded != family:
            raise CheckpointError(
                f"{path}: holds a network of family {recorded!r}, not {family!r}; "
                f"use it with a config whose model is {recorded!r}"
            )
        state = state.get("state_dict")
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return size, dict(state)


def _check_format(path: Path) -> None:
    """torch.load reads zip files (torch.save since 1.6) and legacy pickles; anything else (a text
    file, an HTML error page saved as .pth) would fail deep inside the unpickler."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return
    looks = "a text file" if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head) else "another format"
    raise CheckpointError(
        f"{path}: not a PyTorch checkpoint (it looks like {looks}); give the .pth file of the weights"
    )


def _reason(error: Exception) -> str:
    text = str(error)
    if "Weights only load failed" in text:
        return "it holds Python objects besides tensors, which are not loaded for safety"
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def read_state_dict(path: str | PathLike[str]) -> StateDict:
    """The tensors of a checkpoint file (see :func:`read_checkpoint`)."""
    return read_checkpoint(path)[1]


def save_checkpoint(network: torch.nn.Module, path: str | PathLike[str]) -> Path:
    """Write an STCN's or XMem's weights with its size and family, so that :func:`load_stcn` /
    ``load_xmem`` rebuild it from the file alone and the other loader refuses it.

    Written to a temporary sibling first: an interrupted save never leaves a truncated checkpoint.
    """
    from ttvos.model.xmem import XMem  # xmem.py imports this module

    if not isinstance(network, STCN | XMem):
        raise TypeError(f"{type(network).__name__} is neither an STCN nor an XMem")
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    record = {
        _SIZE_KEY: network.size.to_dict(),
        _FAMILY_KEY: "xmem" if isinstance(network, XMem) else "stcn",
        "state_dict": state,
    }
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(record, temporary)
    temporary.replace(path)
    return path


def adapt_state_dict(state: Mapping[str, Tensor]) -> StateDict:
    """Apply the conversions the official evaluation code applies before a strict load.

    * a ``module.`` prefix (a DataParallel save) is stripped;
    * a 4-channel ``value_encoder.conv1.weight`` (the s0 static-image model, whose value encoder
      sees RGB + mask only) gets a zero 5th channel for the "other objects" mask (STCN, and XMem's
      ``load_weights(init_as_zero_if_needed=True)``).
    """
    adapted = {key.removeprefix("module."): value for key, value in state.items()}
    conv1 = adapted.get(_VALUE_CONV1)
    if conv1 is not None and conv1.ndim == 4 and conv1.shape[1] == 4:
        zeros = conv1.new_zeros(conv1.shape[0], 1, *conv1.shape[2:])
        adapted[_VALUE_CONV1] = torch.cat([conv1, zeros], dim=1)
    return adapted


def check_compatible(
    network: torch.nn.Module, state: Mapping[str, Tensor], source: str, family: str = "STCN"
) -> None:
    """Raise a :class:`CheckpointError` naming the first missing, unexpected or mis-shaped keys."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:_SHOWN])}{more}")
    if problems:
        raise CheckpointError(f"{source}: not an {family} checkpoint; " + "; ".join(problems))


def load_stcn(
    checkpoint: str | PathLike[str] | Mapping[str, Tensor],
    device: torch.device | str = "cpu",
    *,
    size: ModelSize = FULL,
) -> STCN:
    """Build an STCN in eval mode on ``device`` holding the checkpoint's weights.

    A file says its own network size; ``size`` applies to a state dict given in memory.
    """
    return load_network(lambda size, state: STCN(size), checkpoint, device, size=size, family="STCN")


def load_network(
    build: Callable[[ModelSize, StateDict], NetworkT],
    checkpoint: str | PathLike[str] | Mapping[str, Tensor],
    device: torch.device | str = "cpu",
    *,
    size: ModelSize = FULL,
    family: str,
) -> NetworkT:
    """Build ``build(size, state)`` in eval mode on ``device`` holding the checkpoint's weights.

    The network is created on the meta device and the checkpoint tensors are assigned to it, so no
    time is spent on a random initialisation that would be overwritten. ``family`` names the
    network in error messages; lower-cased, it is the family a ttvos file must record.
    """
    if isinstance(checkpoint, Mapping):
        # Cloned: the network must never share storage with (and later modify) the caller's dict.
        source, state = "state dict", {k: v.detach().clone() for k, v in checkpoint.items()}
    else:
        source = str(checkpoint)
        size, state = read_checkpoint(checkpoint, family.lower())
    state = adapt_state_dict(state)
    with torch.device("meta"):
        network = build(size, state)
    check_compatible(network, state, source, family)
    network.load_state_dict(state, strict=True, assign=True)
    return network.to(device).eval()

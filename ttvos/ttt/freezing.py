"""Which parameters test-time training updates: the paper's freezing options.

Options are applied in the order given, each one flipping ``requires_grad`` of a set of
parameters, so ``net,ubn`` first freezes everything and then unfreezes the BatchNorm affine
parameters (tt-Ent). Whatever is frozen or not, the network stays in eval mode during TTT:
BatchNorm always normalises with its stored running statistics and never updates them, as in the
reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from torch import nn

from ttvos.config import FreezeOption
from ttvos.errors import UserError
from ttvos.families import family_of

_BATCH_NORM_OPTIONS: dict[str, bool] = {"bn": False, "ubn": True}


def _batch_norm_parameters(network: nn.Module) -> Iterator[nn.Parameter]:
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            yield from module.parameters(recurse=False)


def apply_freezing(network: nn.Module, options: Iterable[FreezeOption]) -> None:
    """Make every parameter trainable, then apply ``options`` in order.

    Module options freeze the submodules the network's family names for them (``FAMILIES``).
    """
    family = family_of(network)
    for parameter in network.parameters():
        parameter.requires_grad_(True)
    for option in options:
        if option in _BATCH_NORM_OPTIONS:
            for parameter in _batch_norm_parameters(network):
                parameter.requires_grad_(_BATCH_NORM_OPTIONS[option])
            continue
        if option not in family.freezing:
            raise UserError(f"freezing option {option} does not exist in {family.label}")
        names = family.freezing[option]
        modules = [network] if names == ("*",) else [network.get_submodule(name) for name in names]
        for module in modules:
            for parameter in module.parameters():
                parameter.requires_grad_(False)


def trainable_parameters(network: nn.Module) -> list[nn.Parameter]:
    return [p for p in network.parameters() if p.requires_grad]

"""The paper's freezing options select exactly the parameters the reference selects."""

from __future__ import annotations

import pytest
from torch import nn

from ttvos.model import STCN
from ttvos.ttt import apply_freezing


@pytest.fixture(scope="module")
def network():
    return STCN()


def trainable_modules(network: STCN) -> set[str]:
    return {name.split(".")[0] for name, p in network.named_parameters() if p.requires_grad}


def batch_norm_names(network: STCN) -> set[str]:
    return {
        f"{n}.{p}"
        for n, m in network.named_modules()
        if isinstance(m, nn.BatchNorm2d)
        for p in ("weight", "bias")
    }


ALL = {"key_encoder", "value_encoder", "key_proj", "key_comp", "decoder"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), ALL),
        (("enc",), {"key_proj", "key_comp", "decoder"}),
        (("dec",), ALL - {"decoder"}),
        (("all_keys",), {"value_encoder", "decoder"}),
        (("key_enc",), ALL - {"key_encoder"}),
        (("val_enc",), ALL - {"value_encoder"}),
        (("key_proj",), ALL - {"key_proj"}),
        (("key_comp",), ALL - {"key_comp"}),
        (("net",), set()),
        (("dec", "key_proj"), {"key_encoder", "value_encoder", "key_comp"}),
    ],
)
def test_module_options(network, options, expected):
    apply_freezing(network, options)
    assert trainable_modules(network) == expected


def test_net_then_ubn_trains_only_batch_norm_affine(network):
    apply_freezing(network, ("net", "ubn"))
    trainable = {name for name, p in network.named_parameters() if p.requires_grad}
    assert trainable == batch_norm_names(network)
    assert len(trainable) == 116  # as the golden tt-Ent case


def test_bn_freezes_batch_norm_affine_only(network):
    apply_freezing(network, ("bn",))
    frozen = {name for name, p in network.named_parameters() if not p.requires_grad}
    assert frozen == batch_norm_names(network)


def test_order_matters_and_each_call_starts_fresh(network):
    apply_freezing(network, ("ubn", "net"))
    assert trainable_modules(network) == set()
    apply_freezing(network, ())
    assert all(p.requires_grad for p in network.parameters())

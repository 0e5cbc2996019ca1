"""The XMem network: the official state dict, the stand-in rule, and checkpoint loading."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from ttvos.model import CheckpointError
from ttvos.model.checkpoint import save_checkpoint
from ttvos.model.sizes import TINY
from ttvos.model.standin import standin_state_dict
from ttvos.model.xmem import XMem, load_xmem, network_dims


@pytest.fixture(scope="module")
def manifest(golden_dir):
    return json.loads((golden_dir / "xmem" / "xmem_keys.json").read_text())


@pytest.fixture(scope="module")
def reference_weights(golden_dir, manifest):
    """The golden filler's XMem weights (the rule of every golden case)."""
    filler = golden_dir / "xmem" / "fill_weights.py"
    spec = importlib.util.spec_from_file_location("xmem_fill_weights", filler)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_state_dict(str(golden_dir / "xmem" / "xmem_keys.json"))


@pytest.fixture(scope="module")
def checkpoint(reference_weights, tmp_path_factory):
    path = tmp_path_factory.mktemp("xmem") / "XMem.pth"
    torch.save(reference_weights, path)
    return path


def test_state_dict_matches_official_manifest(manifest):
    assert manifest["model"] == "xmem"
    with torch.device("meta"):
        ours = [(k, list(v.shape), str(v.dtype)) for k, v in XMem().state_dict().items()]
    assert len(ours) == 412
    assert ours == [(e["key"], e["shape"], e["dtype"]) for e in manifest["entries"]]


def test_standin_weights_equal_golden_rule(reference_weights):
    ours = standin_state_dict(family="xmem")
    assert list(ours) == list(reference_weights)
    for key, value in reference_weights.items():
        assert ours[key].dtype == value.dtype, key
        assert torch.equal(ours[key], value), key


def test_loads_official_file_unchanged(checkpoint, reference_weights):
    network = load_xmem(checkpoint)
    assert not network.training
    assert network.hidden_dim == 64
    loaded = network.state_dict()
    assert list(loaded) == list(reference_weights)
    for key, value in reference_weights.items():
        assert torch.equal(loaded[key], value), key


def test_single_object_checkpoint_gets_zero_other_objects_channel(reference_weights, tmp_path):
    partial = dict(reference_weights)
    partial["value_encoder.conv1.weight"] = reference_weights["value_encoder.conv1.weight"][:, :4].clone()
    path = tmp_path / "so.pth"
    torch.save(partial, path)
    weight = load_xmem(path).value_encoder.conv1.weight
    assert weight.shape == (64, 5, 7, 7)
    assert torch.equal(weight[:, :4], partial["value_encoder.conv1.weight"])
    assert torch.count_nonzero(weight[:, 4]) == 0


def test_dimensions_are_read_from_the_weights():
    state = standin_state_dict(TINY, family="xmem")
    size, hidden_dim = network_dims(state)
    assert (size.key_dim, size.value_dim, hidden_dim) == (TINY.key_dim, TINY.value_dim, 64)
    without_hidden = {k: v for k, v in state.items() if "hidden" not in k}
    assert network_dims(without_hidden)[1] == 0


def test_tiny_checkpoint_round_trip(tmp_path):
    network = load_xmem(standin_state_dict(TINY, family="xmem"), size=TINY)
    path = save_checkpoint(network, tmp_path / "tiny.pth")
    loaded = load_xmem(path)
    assert loaded.size == TINY
    for key, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_network_without_hidden_state_runs():
    """XMem allows hidden_dim 0: no sensory memory, the decoder reads the memory alone."""
    network = XMem(TINY, hidden_dim=0).eval()
    image = torch.randn(1, 3, 32, 48)
    with torch.inference_mode():
        features = network.encode_key(image)
        hidden = torch.zeros(1, 2, 0, 2, 3)
        value, hidden = network.encode_value(image, features.f16, hidden, torch.rand(1, 2, 32, 48))
        logits, hidden = network.decode(value, hidden, features)
    assert value.shape == (1, 2, TINY.value_dim, 2, 3)
    assert logits.shape == (1, 2, 32, 48)
    assert hidden.shape == (1, 2, 0, 2, 3)


def test_stcn_checkpoint_is_a_clear_error(standin_checkpoint):
    with pytest.raises(CheckpointError) as info:
        load_xmem(standin_checkpoint)
    message = str(info.value)
    assert "\n" not in message
    assert "not an XMem checkpoint" in message
    assert "missing: key_proj.d_proj.weight" in message

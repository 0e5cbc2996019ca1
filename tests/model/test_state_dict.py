"""The network's state dict is the official one: keys, order, shapes and dtypes."""

from __future__ import annotations

import json

import torch

from ttvos.model import STCN
from ttvos.model.standin import standin_state_dict


def test_state_dict_matches_official_manifest(golden_dir):
    manifest = json.loads((golden_dir / "stcn_keys.json").read_text())["entries"]
    ours = [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in STCN().state_dict().items()]
    theirs = [(e["key"], e["shape"], e["dtype"]) for e in manifest]
    assert ours == theirs


def test_parameter_count(golden_dir):
    manifest = json.loads((golden_dir / "stcn_keys.json").read_text())["entries"]
    floats = sum(torch.Size(e["shape"]).numel() for e in manifest if e["dtype"] == "float32")
    assert floats == sum(v.numel() for k, v in STCN().state_dict().items() if v.dtype == torch.float32)


def test_standin_weights_equal_golden_rule(golden_dir, fill_weights):
    reference = fill_weights.make_state_dict(str(golden_dir / "stcn_keys.json"))
    ours = standin_state_dict()
    assert list(ours) == list(reference)
    for key, value in reference.items():
        assert ours[key].dtype == value.dtype, key
        assert torch.equal(ours[key], value), key

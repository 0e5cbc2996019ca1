"""Network sizes: the full size is the official network; a ttvos checkpoint rebuilds its own size."""

from __future__ import annotations

import pytest
import torch

from ttvos.model import load_stcn
from ttvos.model.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from ttvos.model.sizes import FULL, SIZES, TINY, ModelSize
from ttvos.model.standin import standin_state_dict
from ttvos.model.stcn import STCN


def test_full_size_is_the_official_manifest(golden_dir):
    import json

    entries = json.loads((golden_dir / "stcn_keys.json").read_text())["entries"]
    with torch.device("meta"):
        state = STCN(FULL).state_dict()
    assert [(k, list(v.shape)) for k, v in state.items()] == [(e["key"], e["shape"]) for e in entries]


def test_tiny_has_the_same_keys_and_is_small():
    with torch.device("meta"):
        full, tiny = STCN(FULL).state_dict(), STCN(TINY)
    tiny_keys = set(tiny.state_dict())
    # Same module pattern (fewer bottlenecks): every tiny key exists in the full network.
    assert tiny_keys <= set(full)
    assert sum(p.numel() for p in tiny.parameters()) < 1_000_000


@pytest.mark.parametrize("name", sorted(SIZES))
def test_checkpoint_round_trip(name, tmp_path):
    size = SIZES[name]
    network = load_stcn(standin_state_dict(size), size=size)
    path = save_checkpoint(network, tmp_path / f"{name}.pth")
    read_size, state = read_checkpoint(path)
    assert read_size == size
    loaded = load_stcn(path)
    assert loaded.size == size
    for key, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert not list(tmp_path.glob(".*.tmp"))


def test_tiny_segments_a_frame():
    network = load_stcn(standin_state_dict(TINY), size=TINY)
    image = torch.randn(1, 3, 64, 96)
    features = network.encode_key(image)
    assert features.key.shape == (1, TINY.key_dim, 4, 6)
    masks = torch.zeros(2, 1, 64, 96)
    masks[0, :, :32], masks[1, :, 32:] = 1, 1
    values = network.encode_value(image, features.f16, masks, masks.flip(0))
    assert values.shape == (2, TINY.value_dim, 4, 6)
    logits = network.decode(values, features)
    assert logits.shape == (2, 1, 64, 96) and torch.isfinite(logits).all()


def test_unknown_size_field_is_a_clear_error(tmp_path):
    path = tmp_path / "future.pth"
    torch.save({"ttvos_model": {**TINY.to_dict(), "heads": 8}, "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="unknown model size fields"):
        load_stcn(path)


def test_size_dict_round_trip():
    assert ModelSize.from_dict(TINY.to_dict()) == TINY

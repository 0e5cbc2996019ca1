"""Checkpoint loading: the official files unchanged, the s0 quirk, and clear errors."""

from __future__ import annotations

import pytest
import torch

from ttvos.model import CheckpointError, load_stcn
from ttvos.model.checkpoint import adapt_state_dict, read_state_dict


@pytest.fixture(scope="module")
def state(standin_checkpoint):
    return read_state_dict(standin_checkpoint)


def test_loads_every_tensor_unchanged(standin_checkpoint, state):
    network = load_stcn(standin_checkpoint)
    assert not network.training
    loaded = network.state_dict()
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_strips_dataparallel_prefix(state, tmp_path):
    path = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    assert torch.equal(load_stcn(path).decoder.pred.weight, state["decoder.pred.weight"])


def test_s0_checkpoint_gets_zero_other_objects_channel(state, tmp_path):
    path = tmp_path / "s0.pth"
    s0 = dict(state)
    s0["value_encoder.conv1.weight"] = state["value_encoder.conv1.weight"][:, :4].clone()
    torch.save(s0, path)
    weight = load_stcn(path).value_encoder.conv1.weight
    assert weight.shape == (64, 5, 7, 7)
    assert torch.equal(weight[:, :4], state["value_encoder.conv1.weight"][:, :4])
    assert torch.count_nonzero(weight[:, 4]) == 0


def test_adapt_leaves_five_channel_weights_alone(state):
    assert adapt_state_dict(state)["value_encoder.conv1.weight"] is state["value_encoder.conv1.weight"]


def test_loaded_network_does_not_share_the_callers_tensors(state):
    network = load_stcn(state)
    with torch.no_grad():
        network.decoder.pred.bias.add_(1.0)
    assert not torch.equal(network.decoder.pred.bias, state["decoder.pred.bias"])


def test_truncated_file_is_a_clear_error(standin_checkpoint, tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(standin_checkpoint.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="truncated.pth: not a readable PyTorch checkpoint"):
        load_stcn(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint file not found"):
        load_stcn(tmp_path / "nope.pth")


def test_wrong_shapes_and_keys_are_listed(state, tmp_path):
    bad = dict(state)
    bad["decoder.pred.weight"] = torch.zeros(2, 256, 3, 3)
    del bad["key_comp.bias"]
    bad["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(bad, path)
    with pytest.raises(CheckpointError) as info:
        load_stcn(path)
    message = str(info.value)
    assert "\n" not in message
    assert "1 missing: key_comp.bias" in message
    assert "1 unexpected: extra.weight" in message
    assert "decoder.pred.weight (2, 256, 3, 3) (expected (1, 256, 3, 3))" in message


def test_non_state_dict_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="expected a state dict of tensors"):
        load_stcn(path)


@pytest.mark.parametrize(
    ("contents", "fragment"),
    [
        (b"hello world, not a checkpoint\n", "it looks like a text file"),
        (b"<html><body>404</body></html>", "it looks like a text file"),
        (b"\x00\x01\x02binary", "it looks like another format"),
    ],
)
def test_file_that_is_no_checkpoint_is_a_one_line_error(tmp_path, contents, fragment):
    path = tmp_path / "weights.pth"
    path.write_bytes(contents)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as error:
        read_state_dict(path)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_pickled_objects_besides_tensors_are_refused_briefly(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"weights": torch.zeros(1), "when": __import__("datetime").date(2023, 1, 1)}, path)
    with pytest.raises(CheckpointError, match="holds Python objects besides tensors") as error:
        read_state_dict(path)
    assert len(str(error.value)) < 300

"""ttvos checkpoints record their network family; the other family's loader refuses them."""

from __future__ import annotations

import pytest
import torch

from ttvos.errors import UserError
from ttvos.families import FAMILIES
from ttvos.model.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from ttvos.model.sizes import TINY
from ttvos.model.standin import standin_state_dict


def _tiny(family: str) -> torch.nn.Module:
    return FAMILIES[family].load(standin_state_dict(TINY, family=family), "cpu", size=TINY)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_is_written_and_read_back(family, tmp_path):
    network = _tiny(family)
    path = save_checkpoint(network, tmp_path / "net.pth")
    assert torch.load(path, weights_only=True)["ttvos_family"] == family
    assert read_checkpoint(path, family)[0] == TINY
    assert isinstance(FAMILIES[family].load(path, "cpu"), FAMILIES[family].network)


@pytest.mark.parametrize(("saved", "loader"), [("xmem", "stcn"), ("stcn", "xmem")])
def test_the_other_loader_names_the_family_in_one_line(saved, loader, tmp_path):
    network = _tiny(saved)
    path = save_checkpoint(network, tmp_path / "net.pth")
    with pytest.raises(CheckpointError, match=f"family '{saved}', not '{loader}'") as raised:
        FAMILIES[loader].load(path, "cpu")
    assert isinstance(raised.value, UserError) and "\n" not in str(raised.value)


def test_files_without_the_family_key_are_stcn(tmp_path):
    """Checkpoints written before the family was recorded (the embedded tiny.pth among them)."""
    path = tmp_path / "old.pth"
    torch.save({"ttvos_model": TINY.to_dict(), "state_dict": standin_state_dict(TINY)}, path)
    assert FAMILIES["stcn"].load(path, "cpu").size == TINY
    with pytest.raises(CheckpointError, match="family 'stcn', not 'xmem'"):
        FAMILIES["xmem"].load(path, "cpu")


def test_only_networks_of_a_family_are_saved(tmp_path):
    with pytest.raises(TypeError, match="neither an STCN nor an XMem"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "linear.pth")

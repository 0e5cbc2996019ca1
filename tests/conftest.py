"""Shared fixtures: the golden conformance data and networks built from its stand-in weights.

The golden data lives in ``../shared/golden`` beside the repository (override with
``TTVOS_GOLDEN``). Tests that need it *fail* when it is missing: conformance is never skipped.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ttvos.model import STCN, load_stcn

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("TTVOS_GOLDEN", REPO.parent / "shared" / "golden"))

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    if not (GOLDEN / "README.md").is_file():
        pytest.fail(
            f"golden conformance data not found at {GOLDEN} (set TTVOS_GOLDEN or put shared/ beside the repo)"
        )
    return GOLDEN


@pytest.fixture(scope="session")
def golden(golden_dir: Path):
    """``golden(name)`` -> the arrays of ``<name>.npz``."""

    def load(name: str) -> dict[str, np.ndarray]:
        with np.load(golden_dir / f"{name}.npz") as data:
            return {key: data[key] for key in data.files}

    return load


@pytest.fixture(scope="session")
def fill_weights(golden_dir: Path):
    """The golden ``fill_weights`` module (the reference rule for the stand-in weights)."""
    spec = importlib.util.spec_from_file_location("golden_fill_weights", golden_dir / "fill_weights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def standin_checkpoint(golden_dir: Path, fill_weights, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden stand-in weights saved as a checkpoint file, like a downloaded ``stcn.pth``."""
    path = tmp_path_factory.mktemp("weights") / "standin.pth"
    torch.save(fill_weights.make_state_dict(str(golden_dir / "stcn_keys.json")), path)
    return path


@pytest.fixture(scope="session")
def standin_network(standin_checkpoint: Path) -> STCN:
    """The stand-in network loaded through the real checkpoint loader (eval mode, CPU).

    Shared by the session: tests must not modify it (use ``standin_checkpoint`` to get a copy).
    """
    network = load_stcn(standin_checkpoint)
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    return network


@pytest.fixture(scope="session")
def xmem_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny XMem holding the XMem stand-in rule's weights, saved as a ttvos checkpoint (with its
    size): XMem's code paths at a fraction of the full network's CPU time."""
    from ttvos.model.checkpoint import save_checkpoint
    from ttvos.model.sizes import TINY
    from ttvos.model.standin import standin_state_dict
    from ttvos.model.xmem import load_xmem

    path = tmp_path_factory.mktemp("xmem_weights") / "xmem_tiny.pth"
    save_checkpoint(load_xmem(standin_state_dict(TINY, family="xmem"), size=TINY), path)
    return path

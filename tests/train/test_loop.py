"""The training loop: it learns, it resumes exactly where it stopped, and it refuses to mix runs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ttvos.errors import UserError
from ttvos.families import FAMILIES
from ttvos.train import sources
from ttvos.train.loop import LOG_FILE, MODEL_FILE, STATE_FILE, Trainer, TrainRequest
from ttvos.train.recipe import PRESETS

SMALL = replace(
    PRESETS["tiny"],
    iterations=4,
    batch_size=2,
    crop=(32, 48),
    synthetic_size=(40, 60),
    synthetic_videos=4,
    synthetic_frames=6,
    checkpoint_every=2,
)
# XMem's tiny recipe at the same scale, 5-frame sequences (frame 4 reads a random subset of the memory).
XMEM_SMALL = replace(
    PRESETS["xmem_tiny"],
    iterations=SMALL.iterations,
    batch_size=SMALL.batch_size,
    crop=SMALL.crop,
    synthetic_size=SMALL.synthetic_size,
    synthetic_videos=SMALL.synthetic_videos,
    seq_len=5,
    synthetic_frames=8,
    checkpoint_every=2,
)
CPU = torch.device("cpu")
BOTH = pytest.mark.parametrize("config", [SMALL, XMEM_SMALL], ids=["stcn", "xmem"])


@BOTH
def test_steps_lower_the_loss_on_a_fixed_batch(config, tmp_path):
    trainer = Trainer(TrainRequest(config, tmp_path), CPU)
    assert isinstance(trainer.network, FAMILIES[config.model].network)
    rng = np.random.default_rng(3)
    batch = [sources.draw_sequence(trainer.videos, config, 2, rng) for _ in range(2)]
    losses = [trainer.step(batch, hard_fraction=1.0) for _ in range(8)]
    assert losses[-1] < 0.8 * losses[0], losses


def _run(request: TrainRequest, stop_after: int | None = None) -> Trainer:
    trainer = Trainer(request, CPU)
    for step in trainer.run():
        if step.iteration == stop_after:
            break
    return trainer


@BOTH
def test_interrupted_run_resumes_to_the_same_network(config, tmp_path):
    whole = _run(TrainRequest(config, tmp_path / "whole"))
    _run(TrainRequest(config, tmp_path / "split"), stop_after=3)  # killed after the checkpoint at 2
    resumed = _run(TrainRequest(config, tmp_path / "split"))
    assert resumed.iteration == whole.iteration == 4
    for key, value in whole.network.state_dict().items():
        assert torch.equal(resumed.network.state_dict()[key], value), key
    lines = [json.loads(line) for line in (tmp_path / "split" / LOG_FILE).read_text().splitlines()]
    assert [line["iteration"] for line in lines] == [1, 2, 3, 4]
    exported = FAMILIES[config.model].load(tmp_path / "split" / MODEL_FILE, CPU)
    assert exported.size.name == "tiny"
    assert torch.equal(exported.decoder.pred.weight, whole.network.decoder.pred.weight)


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    _run(TrainRequest(SMALL, tmp_path), stop_after=2)
    with pytest.raises(UserError, match="other settings"):
        Trainer(TrainRequest(replace(SMALL, lr=1e-4), tmp_path), CPU)
    restarted = Trainer(TrainRequest(replace(SMALL, lr=1e-4), tmp_path), CPU, overwrite=True)
    assert restarted.iteration == 0 and not (tmp_path / STATE_FILE).exists()


def test_a_failed_start_writes_nothing(tmp_path):
    """A wrong --data-root is a one-line error and leaves no run behind to block the corrected command."""
    davis = replace(SMALL, source="davis")
    with pytest.raises(UserError, match="DAVIS-2017 trainval not found"):
        Trainer(TrainRequest(davis, tmp_path / "run", data_root=tmp_path / "missing"), CPU)
    assert not (tmp_path / "run").exists()
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(UserError, match="not a folder"):
        Trainer(TrainRequest(SMALL, tmp_path / "file"), CPU)

"""``ttvos train`` for XMem: XMem's recipe facts, its sequences and loss, resumable runs, the CLI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.errors import UserError
from ttvos.model.checkpoint import CheckpointError, load_stcn
from ttvos.model.xmem import load_xmem
from ttvos.train import sources
from ttvos.train.loop import MODEL_FILE, Trainer, TrainRequest
from ttvos.train.loss import dice_loss
from ttvos.train.recipe import PRESETS, resolve_recipe

from .test_loop import XMEM_SMALL as SMALL

CPU = torch.device("cpu")


def test_official_recipe_is_xmem_stage_3():
    config = PRESETS["xmem_s03"]
    assert (config.model, config.seq_len, config.num_ref_frames) == ("xmem", 8, 3)
    assert config.deep_update_prob == 0.2
    assert (config.optimizer, config.lr, config.weight_decay, config.batch_size) == ("adamw", 1e-5, 0.05, 8)
    assert (config.max_objects, config.batch_norm, config.crop) == (3, "frozen", (384, 384))
    # 100k iterations + 10k of fine-tuning; skip 5, 10 from 10k, 15 from 30k, 5 from 90k.
    assert config.iterations == 110_000
    assert [config.max_skip(i) for i in (0, 9_999, 10_000, 30_000, 89_999, 90_000)] == [5, 5, 10, 15, 15, 5]
    assert config.lr_at(79_999) == 1e-5 and config.lr_at(80_000) == pytest.approx(1e-6)
    assert config.hard_fraction(19_999) == 1.0 and config.hard_fraction(70_001) == 0.15


def test_settings_that_cannot_train_are_refused(tmp_path):
    with pytest.raises(UserError, match="STCN trains on 3-frame sequences"):
        Trainer(TrainRequest(replace(PRESETS["tiny"], seq_len=8), tmp_path / "stcn"), CPU)
    with pytest.raises(UserError, match="video sources"):
        resolve_recipe("xmem_tiny", {"source": "synthetic-static"})
        Trainer(TrainRequest(replace(SMALL, source="synthetic-static"), tmp_path / "xmem"), CPU)


def test_spread_frames_are_distinct_and_within_reach():
    rng = np.random.default_rng(0)
    for _ in range(200):
        indices = sources.spread_frame_indices(20, 2, 8, rng)
        assert len(set(indices)) == 8 and indices in (sorted(indices), sorted(indices)[::-1])
        ordered = sorted(indices)
        assert all(b - a <= 2 for a, b in zip(ordered, ordered[1:], strict=False))


def test_sequences_carry_every_object_up_to_max_objects(tmp_path):
    trainer = Trainer(TrainRequest(replace(SMALL, synthetic_videos=8), tmp_path), CPU)
    rng = np.random.default_rng(1)
    counts = set()
    for _ in range(12):
        sequence = sources.draw_sequence(trainer.videos, SMALL, 2, rng)
        assert sequence.images.shape == (5, 3, 32, 48)
        counts.add(sequence.masks.shape[0])
        assert int(sequence.labels.max()) <= sequence.masks.shape[0] <= SMALL.max_objects
    assert len(counts) > 1


def test_dice_loss():
    labels = torch.tensor([[[0, 1], [1, 2]]])  # 1*2*2, objects 1 and 2
    perfect = torch.stack([labels == 1, labels == 2, torch.zeros_like(labels, dtype=torch.bool)], 1).float()
    assert dice_loss(perfect, labels) == 0  # the empty third slot costs nothing
    swapped = perfect[:, [1, 0, 2]]
    # no overlap: 1 - (0 + 1) / (1 + 2 + 1) for each filled slot, 0 for the empty one
    assert dice_loss(swapped, labels) == pytest.approx((0.75 + 0.75 + 0) / 3)


def test_cli_trains_the_xmem_preset(tmp_path):
    arguments = ["train", "--preset", "xmem_tiny", "-o", str(tmp_path / "run"), "--iterations", "1"]
    result = CliRunner().invoke(app, [*arguments, "--batch-size", "1", "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_xmem(tmp_path / "run" / MODEL_FILE).size.name == "tiny"
    with pytest.raises(CheckpointError, match="family 'xmem', not 'stcn'"):
        load_stcn(tmp_path / "run" / MODEL_FILE)

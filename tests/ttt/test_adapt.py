"""The adaptation loop end to end on tiny videos: every loss, resets, freezing, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ttvos.families import FAMILIES
from ttvos.inference.segment import segment_video
from ttvos.model import load_stcn
from ttvos.ttt import TestTimeTrainer, video_seed

from .conftest import tiny_config


def adapt_and_segment(trainer, config, video, seed):
    logs = list(trainer.adapt(video, config, seed))
    masks = [m.labels for m in segment_video(trainer.network, video)]
    return logs, masks


@pytest.mark.parametrize("config_name", ["stcn_mcc", "stcn_ae", "stcn_ent"])
def test_each_loss_adapts_and_segments(config_name, tiny_videos, standin_checkpoint):
    network = load_stcn(standin_checkpoint)
    trainer = TestTimeTrainer(network)
    config = tiny_config(config_name)
    pretrained = {k: v.clone() for k, v in network.state_dict().items()}
    logs, masks = adapt_and_segment(trainer, config, tiny_videos[0], seed=1)
    assert len(logs) == config.ttt.total_steps == 2 * 2  # rounds x steps (one stage)
    assert all(np.isfinite(log.loss) and log.loss > 0 for log in logs)
    expected_length = 1 if config_name == "stcn_ae" else 3
    assert all(len(frames) == expected_length and frames[0] == 0 for log in logs for frames in log.frames)
    assert len(masks) == 5 and masks[0].shape == (64, 96)
    changed = [k for k, v in network.state_dict().items() if not torch.equal(v, pretrained[k])]
    assert changed, "training changed no weight"
    assert not any(p.requires_grad for p in network.parameters())


def test_frozen_parameters_are_bit_identical(tiny_videos, standin_checkpoint):
    network = load_stcn(standin_checkpoint)
    pretrained = {k: v.clone() for k, v in network.state_dict().items()}
    trainer = TestTimeTrainer(network)
    list(trainer.adapt(tiny_videos[0], tiny_config("stcn_ent"), seed=3))  # frozen: net, ubn
    batch_norm_affine = {
        f"{name}.{p}"
        for name, m in network.named_modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for p in ("weight", "bias")
    }
    for key, value in network.state_dict().items():
        if key in batch_norm_affine:
            continue
        assert torch.equal(value, pretrained[key]), f"{key} changed although frozen (or a BN statistic moved)"
    assert any(not torch.equal(network.state_dict()[k], pretrained[k]) for k in batch_norm_affine)


def test_decoder_frozen_with_dec_option(tiny_videos, standin_checkpoint):
    network = load_stcn(standin_checkpoint)
    decoder = {k: v.clone() for k, v in network.decoder.state_dict().items()}
    trainer = TestTimeTrainer(network)
    list(trainer.adapt(tiny_videos[0], tiny_config("stcn_ae", **{"ttt.frozen": ["dec"]}), seed=3))
    assert all(torch.equal(v, decoder[k]) for k, v in network.decoder.state_dict().items())


CHECKPOINTS = {"stcn": "standin_checkpoint", "xmem": "xmem_checkpoint"}  # a model's test weights


def trainer_for(config, request) -> TestTimeTrainer:
    """A trainer holding a fresh network of the config's model (the golden STCN, a tiny XMem)."""
    checkpoint = request.getfixturevalue(CHECKPOINTS[config.model])
    return TestTimeTrainer(FAMILIES[config.model].build(checkpoint))


@pytest.mark.parametrize("config_name", ["stcn_ae", "xmem_mcc"])
def test_every_video_starts_from_the_pretrained_weights(config_name, tiny_videos, request):
    config = tiny_config(config_name)
    trainer = trainer_for(config, request)
    adapt_and_segment(trainer, config, tiny_videos[0], seed=5)  # adapts the network to video 0 ...
    after_other, masks_after_other = adapt_and_segment(trainer, config, tiny_videos[1], seed=5)
    fresh = trainer_for(config, request)
    alone, masks_alone = adapt_and_segment(fresh, config, tiny_videos[1], seed=5)  # ... which must not leak
    assert [log.loss for log in after_other] == [log.loss for log in alone]
    assert all(np.array_equal(a, b) for a, b in zip(masks_after_other, masks_alone, strict=True))
    trainer.reset()
    pretrained = fresh.pretrained
    assert all(torch.equal(v, pretrained[k]) for k, v in trainer.network.state_dict().items())


@pytest.mark.parametrize("config_name", ["stcn_ent", "xmem_ent"])
def test_same_seed_same_masks_other_seed_other_samples(config_name, tiny_videos, request):
    config = tiny_config(config_name, **{"ttt.iters_per_jump": 4})
    trainer = trainer_for(config, request)
    logs_a, masks_a = adapt_and_segment(trainer, config, tiny_videos[0], seed=7)
    logs_b, masks_b = adapt_and_segment(trainer, config, tiny_videos[0], seed=7)
    assert [log.frames for log in logs_a] == [log.frames for log in logs_b]
    assert [log.loss for log in logs_a] == [log.loss for log in logs_b]
    assert all(np.array_equal(a, b) for a, b in zip(masks_a, masks_b, strict=True))
    logs_c = list(trainer.adapt(tiny_videos[0], config, seed=8))
    assert [log.frames for log in logs_c] != [log.frames for log in logs_a]


def test_video_seed_depends_on_seed_and_name_only():
    assert video_seed(1, "bike") == video_seed(1, "bike")
    assert len({video_seed(1, "bike"), video_seed(2, "bike"), video_seed(1, "car")}) == 3
    assert 0 <= video_seed(123, "x") < 2**63


def test_baseline_config_does_not_train(tiny_videos, standin_checkpoint):
    network = load_stcn(standin_checkpoint)
    pretrained = {k: v.clone() for k, v in network.state_dict().items()}
    trainer = TestTimeTrainer(network)
    config = tiny_config("stcn")
    assert list(trainer.adapt(tiny_videos[0], config, seed=1)) == [] and config.ttt.total_steps == 0
    assert all(torch.equal(v, pretrained[k]) for k, v in network.state_dict().items())

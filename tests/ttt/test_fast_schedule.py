"""Less work per adaptation: pseudo-masks up to the sampled horizon, cached frames, the fast schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ttvos.config import load_config, replace
from ttvos.data import video as video_module
from ttvos.data.video import CachedFrames, load_video
from ttvos.model.checkpoint import load_stcn
from ttvos.model.sizes import TINY
from ttvos.model.standin import standin_state_dict
from ttvos.ttt import adapt as adapt_module
from ttvos.ttt.adapt import AdaptTrace, TestTimeTrainer, sampled_horizon
from ttvos.ttt.losses import LOSSES
from ttvos.ttt.replay import ReplayedDraws
from ttvos.ttt.sampler import RandomDraws

from .conftest import tiny_config, tiny_video


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """26 frames: more than tt-MCC's sequences reach (frame 20 with max_jump 10, seq_len 3)."""
    return load_video(tiny_video(tmp_path_factory.mktemp("long"), "long", seed=4, frames=26), resolution=None)


@pytest.fixture()
def trainer():
    return TestTimeTrainer(load_stcn(standin_state_dict(TINY), size=TINY))


def test_horizon_of_each_loss():
    mcc = load_config("stcn_mcc").ttt
    assert sampled_horizon(mcc, [0], RandomDraws()) == 20
    assert (
        sampled_horizon(
            replace(load_config("stcn_mcc"), **{"ttt.max_jump": [5, 10], "ttt.seq_len": [4, 2]}).ttt,
            [0, 3],
            RandomDraws(),
        )
        == 18
    )
    assert sampled_horizon(load_config("stcn_ent").ttt, [0, 7], RandomDraws()) == 7
    assert sampled_horizon(load_config("stcn_ae").ttt, [0], RandomDraws()) == 0
    assert (
        sampled_horizon(mcc, [0], ReplayedDraws("video", [], "test")) is None
    )  # a replay may name any frame


@pytest.mark.parametrize("name", ["stcn_mcc", "stcn_ent"])
def test_pseudo_masks_up_to_the_horizon_train_the_same(name, trainer, long_video):
    """A trace turns the horizon off (every pseudo-mask is computed); the training is the same."""
    config = tiny_config(name, **{"ttt.lr": 1e-4})
    short = list(trainer.adapt(long_video, config, 3))
    trace = AdaptTrace()
    full = list(trainer.adapt(long_video, config, 3, trace=trace))
    assert [s.loss for s in short] == [s.loss for s in full]
    assert [s.frames for s in short] == [s.frames for s in full]
    assert any(mask.any() for mask in trace.pseudo_masks[0][21:])  # the later frames do hold objects


def test_pseudo_masks_stop_at_the_horizon(trainer, long_video):
    masks = adapt_module.pseudo_masks(trainer.network, long_video, tiny_config("stcn_mcc"), until=20)
    full = adapt_module.pseudo_masks(trainer.network, long_video, tiny_config("stcn_mcc"))
    assert all(np.array_equal(a, b) for a, b in zip(masks[:21], full[:21], strict=True))
    assert not any(mask.any() for mask in masks[21:])


def test_cached_frames_read_each_file_once(monkeypatch, long_video):
    reads: list[str] = []
    original = video_module.read_frame
    monkeypatch.setattr(video_module, "read_frame", lambda path: reads.append(str(path)) or original(path))
    cached = CachedFrames(long_video.frames)
    for _ in range(3):
        first, raw = cached[2], cached.raw(2)
    assert len(reads) == 1  # the normalised frame is made from the kept stored one
    assert torch.equal(first, long_video.frames[2]) and np.array_equal(raw, long_video.frames.raw(2))


def test_cached_frames_stop_keeping_at_the_budget(long_video):
    budget = 2 * long_video.frames[0].nbytes
    cached = CachedFrames(long_video.frames, max_bytes=budget)
    for _ in range(2):
        for index in range(6):
            assert torch.equal(cached[index], long_video.frames[index])
    assert cached._held <= budget and len(cached._normalised) < 6


def count_optimisers(monkeypatch) -> list[object]:
    made: list[object] = []
    original = torch.optim.Adam

    def counting(*args, **kwargs):
        made.append(None)
        return original(*args, **kwargs)

    monkeypatch.setattr(adapt_module.torch.optim, "Adam", counting)
    return made


@pytest.mark.parametrize(("schedule", "optimisers", "refreshes"), [("faithful", 6, 5), ("fast", 1, 2)])
def test_fast_schedule_keeps_one_optimiser_and_refreshes_once_per_round(
    monkeypatch, trainer, tiny_videos, schedule, optimisers, refreshes
):
    config = tiny_config(
        "stcn_mcc",
        **{"ttt.schedule": schedule, "ttt.jump_steps": 3, "ttt.iters_per_jump": 1, "ttt.max_jump": [2, 3]},
    )
    made = count_optimisers(monkeypatch)
    trace = AdaptTrace()
    steps = list(trainer.adapt(tiny_videos[0], config, 1, trace=trace))
    assert len(steps) == 6 and len(made) == optimisers
    assert len(trace.pseudo_masks) == 1 + refreshes


@pytest.mark.parametrize("name", ["stcn_mcc", "stcn_ent", "stcn_ae"])
def test_fast_schedule_same_losses_and_deterministic(name, trainer, tiny_videos):
    """The fast schedule trains on the loss the faithful one computes, and one seed gives one run."""
    config = tiny_config(name, **{"ttt.schedule": "fast", "ttt.lr": 1e-4})
    trace = AdaptTrace()
    steps = list(trainer.adapt(tiny_videos[0], config, 5, trace=trace))
    trainer.reset()
    first = trace.samples[0]
    assert steps[0].loss == pytest.approx(
        float(LOSSES[config.ttt.loss](trainer.network, first).loss), rel=1e-6
    )
    faithful = list(trainer.adapt(tiny_videos[0], replace(config, **{"ttt.schedule": "faithful"}), 5))
    assert steps[0].loss == faithful[0].loss  # same first sample, same weights
    again = list(trainer.adapt(tiny_videos[0], config, 5))
    assert [s.loss for s in again] == [s.loss for s in steps]
    other = list(trainer.adapt(tiny_videos[1], config, 6))
    assert [s.loss for s in other] != [s.loss for s in steps]

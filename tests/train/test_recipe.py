"""The training recipe's schedules: curriculum, step decay and bootstrapping as in STCN."""

from __future__ import annotations

import pytest

from ttvos.errors import UserError
from ttvos.train.recipe import PRESETS, TrainConfig, resolve_recipe


def test_official_schedule_matches_stcn_stage_3():
    config = PRESETS["stcn_s03"]
    assert (config.iterations, config.batch_size, config.lr) == (150_000, 4, 1e-5)
    # Skip 5 first, then 10/15/20/25 from 10 % / 20 % / 30 % / 40 %, back to 5 from 90 %.
    assert [config.max_skip(i) for i in (0, 14_999, 15_000, 30_000, 45_000, 60_000, 134_999, 135_000)] == [
        5,
        5,
        10,
        15,
        20,
        25,
        25,
        5,
    ]
    assert config.lr_at(124_999) == 1e-5 and config.lr_at(125_000) == pytest.approx(1e-6)
    # Plain CE before 20k, 15 % of the pixels after 70k, linear in between.
    assert config.hard_fraction(19_999) == 1.0
    assert config.hard_fraction(45_000) == pytest.approx(0.15 + 0.85 * 0.5)
    assert config.hard_fraction(70_001) == 0.15


def test_schedules_scale_with_the_iterations():
    short = resolve_recipe("stcn_s03", {"iterations": 1500})
    assert short.max_skip(150) == 10 and short.lr_at(1250) == pytest.approx(1e-6)


def test_overrides_are_validated():
    with pytest.raises(UserError, match="source"):
        resolve_recipe("tiny", {"source": "imagenet"})
    with pytest.raises(UserError, match="unknown recipe"):
        resolve_recipe("huge", {})
    assert resolve_recipe("tiny", {"lr": None}) == PRESETS["tiny"]


@pytest.mark.parametrize(
    "changes",
    [{"crop": (60, 96)}, {"size": "giant"}, {"iterations": 0}, {"size": "tiny", "init": "imagenet"}],
)
def test_impossible_settings_are_refused(changes):
    with pytest.raises(ValueError):
        TrainConfig(**changes).check()

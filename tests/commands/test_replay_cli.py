"""``ttvos run --replay-draws``: a run replayed from its own folder gives the same PNG bytes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ttvos.cli import app

from .conftest import run_arguments

runner = CliRunner()
RUN_DIR = ("davis", "tiny_mcc", "seed1")


def run_mcc(data_root, configs, weights, output, *options):
    """tt-MCC (1 round x 2 steps) on DAVIS video alpha at native size."""
    arguments = run_arguments(
        data_root,
        weights,
        output,
        "--dataset",
        "davis",
        "--videos",
        "alpha",
        "-c",
        str(configs / "tiny_mcc.yaml"),
        "--resolution",
        "native",
        *options,
    )
    return runner.invoke(app, arguments)


def pngs(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def log_of(run_dir):
    return json.loads((run_dir / "logs" / "alpha.json").read_text())


def test_replaying_a_run_folder_reproduces_its_masks_byte_for_byte(
    data_root, configs, standin_checkpoint, tmp_path
):
    original = tmp_path / "original"
    assert run_mcc(data_root, configs, standin_checkpoint, original).exit_code == 0
    source = original.joinpath(*RUN_DIR)
    replayed = tmp_path / "replayed"
    result = run_mcc(data_root, configs, standin_checkpoint, replayed, "--replay-draws", str(source))
    assert result.exit_code == 0, result.output
    target = replayed.joinpath(*RUN_DIR)
    assert pngs(target) == pngs(source) and len(pngs(source)) == 5
    first, again = log_of(source), log_of(target)
    assert [s["draws"] for s in again["steps"]] == [s["draws"] for s in first["steps"]]
    assert [s["loss"] for s in again["steps"]] == [s["loss"] for s in first["steps"]]
    assert first["replay"] is None and again["replay"] == str(source.resolve())


def test_replayed_frames_are_the_ones_trained_on(data_root, configs, standin_checkpoint, tmp_path):
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"alpha": [[0, 1, 4], [0, 1, 3]]}))
    result = run_mcc(data_root, configs, standin_checkpoint, tmp_path / "out", "--replay-draws", str(draws))
    assert result.exit_code == 0, result.output
    log = log_of((tmp_path / "out").joinpath(*RUN_DIR))
    assert [s["frames"] for s in log["steps"]] == [[[0, 1, 4]], [[0, 1, 3]]]
    assert [d["trial"] for s in log["steps"] for d in s["draws"]] == [1, 1]


@pytest.mark.parametrize(
    ("draws", "message"),
    [
        ({"alpha": [[0, 1, 2]]}, "video 'alpha' has 1 draws but the schedule trains on 2 sequences"),
        ({"alpha": [[0, 1, 2], [0, 1, 9]]}, "draw 2 names frame 9, the video has 5 frames (0..4)"),
        ({"alpha": [[0, 1, 2], [0, 2]]}, "draw 2 has 2 frames, its stage trains on sequences of 3"),
        ({"alpha": [[0, 1, 2], [1, 2, 3]]}, "draw 2 starts at frame 1, which is not annotated"),
        ({"beta": [[0, 1, 2], [0, 1, 3]]}, "no draws for video 'alpha' (it has: beta)"),
        ({"alpha": [[0, 1, "2"]]}, "a draw must be a non-empty list of frame indices"),
    ],
)
def test_unusable_draws_are_refused_in_one_line(
    draws, message, data_root, configs, standin_checkpoint, tmp_path
):
    path = tmp_path / "draws.json"
    path.write_text(json.dumps(draws))
    result = run_mcc(data_root, configs, standin_checkpoint, tmp_path / "out", "--replay-draws", str(path))
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not list((tmp_path / "out").rglob("*.png"))


def test_a_folder_that_is_not_a_run_is_refused(data_root, configs, standin_checkpoint, tmp_path):
    result = run_mcc(
        data_root, configs, standin_checkpoint, tmp_path / "out", "--replay-draws", str(tmp_path)
    )
    assert result.exit_code == 1 and "not a ttvos run folder" in result.output


def test_replayed_draws_are_part_of_a_runs_settings(data_root, configs, standin_checkpoint, tmp_path):
    """Replaying other draws into a folder of random-draw results must not pass those off as done."""
    import yaml

    original = tmp_path / "original"
    assert run_mcc(data_root, configs, standin_checkpoint, original).exit_code == 0
    record = yaml.safe_load((original.joinpath(*RUN_DIR) / "run.yaml").read_text())
    assert record["replay_draws"] is None
    assert f"--replay-draws {original.joinpath(*RUN_DIR).resolve()}" in record["how_to_replay"]
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"alpha": [[0, 1, 2], [0, 2, 3]]}))
    result = run_mcc(data_root, configs, standin_checkpoint, original, "--replay-draws", str(draws))
    assert result.exit_code == 1 and "replay_draws" in result.output
    assert "1 skipped" not in result.output

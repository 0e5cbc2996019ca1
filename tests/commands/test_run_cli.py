"""``ttvos run`` through the CLI on tiny datasets of every layout, with the golden stand-in weights."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.data.io import write_mask

from .conftest import VIDEO_NAMES, read_png, run_arguments

runner = CliRunner()

CASES = {  # dataset -> (extra options, configs, run folder below the output)
    "davis": ([], ["tiny_ae", "stcn"], "davis"),
    "davis-testdev": ([], ["stcn"], "davis-testdev"),
    "davis-c": (["--corruption", "brightness/med"], ["tiny_mcc", "stcn"], "davis-c/brightness/med"),
    "youtube": ([], ["tiny_ent", "stcn"], "youtube"),
    "mose": ([], ["tiny_ae"], "mose"),
}


def run(args, data_root, configs, weights, output):
    """``ttvos run`` at native resolution; ``tiny_*`` names are the shrunken configs' files."""
    options = [str(configs / f"{a}.yaml") if a.startswith("tiny_") else a for a in args]
    return runner.invoke(app, run_arguments(data_root, weights, output, *options, "--resolution", "native"))


@pytest.mark.parametrize("dataset", list(CASES))
def test_every_layout_with_ttt_and_baseline(dataset, data_root, configs, standin_checkpoint, tmp_path):
    extra, config_names, folder = CASES[dataset]
    args = ["--dataset", dataset, *extra]
    for name in config_names:
        args += ["--config", name]
    result = run(args, data_root, configs, standin_checkpoint, tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{len(VIDEO_NAMES) * len(config_names)} videos done, 0 skipped, 0 failed" in result.output
    for name in config_names:
        run_dir = tmp_path / folder / name / "seed1"
        record = yaml.safe_load((run_dir / "run.yaml").read_text())
        assert record["seed"] == 1 and record["config"]["name"] == name and record["dataset"] == dataset
        assert record["model"]["sha256"] and record["versions"]["ttvos"]
        for video in VIDEO_NAMES:
            pngs = sorted(p.name for p in (run_dir / video).iterdir())
            expected = (
                ["00000.png", "00002.png", "00004.png"]
                if dataset == "youtube"
                else [f"{t:05d}.png" for t in range(5)]
            )
            assert pngs == expected
            mode, labels = read_png(run_dir / video / "00000.png")
            assert mode == "P" and labels.shape == (64, 96)
            log = json.loads((run_dir / "logs" / f"{video}.json").read_text())
            assert log["video"] == video and log["seconds"]["total"] > 0
            assert len(log["steps"]) == (2 if name.startswith("tiny_") else 0)
        assert not list(run_dir.glob(".tmp-*"))


def test_youtube_outputs_keep_the_files_ids(data_root, configs, standin_checkpoint, tmp_path):
    result = run(
        ["--dataset", "youtube", "-c", "stcn", "--videos", "alpha"],
        data_root,
        configs,
        standin_checkpoint,
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    annotation = read_png(data_root / "YouTube2018" / "valid" / "Annotations" / "alpha" / "00002.png")[1]
    written = read_png(tmp_path / "youtube" / "stcn" / "seed1" / "alpha" / "00002.png")[1]
    late = int(annotation.max())
    assert np.array_equal(written == late, annotation == late)  # the late object's own annotated frame


def test_folder_input_with_ttt(data_root, configs, standin_checkpoint, tmp_path):
    frames = data_root / "MOSE" / "valid" / "JPEGImages" / "beta"
    mask = data_root / "MOSE" / "valid" / "Annotations" / "beta" / "00000.png"
    args = ["--dataset", "folder", "--frames", str(frames), "--mask", str(mask), "-c", "tiny_ae"]
    result = run(args, data_root, configs, standin_checkpoint, tmp_path)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "folder" / "tiny_ae" / "seed1" / "beta").glob("*.png"))) == 5


def test_rerun_skips_and_overwrite_redoes(data_root, configs, standin_checkpoint, tmp_path):
    args = ["--dataset", "mose", "-c", "stcn", "--seed", "3", "--seed", "4"]
    assert run(args, data_root, configs, standin_checkpoint, tmp_path).exit_code == 0
    assert (tmp_path / "mose" / "stcn" / "seed4" / "gamma").is_dir()
    again = run(args, data_root, configs, standin_checkpoint, tmp_path)
    assert "0 videos done, 6 skipped" in again.output
    redo = run(
        [*args, "--overwrite", "--videos", "alpha,beta"], data_root, configs, standin_checkpoint, tmp_path
    )
    assert "4 videos done, 0 skipped" in redo.output


def test_a_different_run_in_the_same_folder_is_refused(data_root, configs, standin_checkpoint, tmp_path):
    assert (
        run(["--dataset", "mose", "-c", "stcn"], data_root, configs, standin_checkpoint, tmp_path).exit_code
        == 0
    )
    changed = runner.invoke(
        app,
        [
            "run",
            "--dataset",
            "mose",
            "-c",
            "stcn",
            "--data-root",
            str(data_root),
            "--weights",
            str(standin_checkpoint),
            "--output",
            str(tmp_path),
            "-q",
        ],
    )
    assert changed.exit_code == 1
    assert "holds results of a different run (config differ)" in changed.output  # resolution 480 vs native


@pytest.fixture()
def broken_root(data_root, tmp_path):
    """A copy of DAVIS val in which video beta lost a frame in the middle."""
    root = tmp_path / "broken"
    shutil.copytree(data_root / "DAVIS", root / "DAVIS")
    (root / "DAVIS" / "2017" / "trainval" / "JPEGImages" / "480p" / "beta" / "00002.jpg").unlink()
    return root


def test_keep_going_lists_failures_and_exits_non_zero(broken_root, configs, standin_checkpoint, tmp_path):
    result = run(
        ["--dataset", "davis", "-c", "stcn", "--keep-going"],
        broken_root,
        configs,
        standin_checkpoint,
        tmp_path,
    )
    assert result.exit_code == 1
    assert "2 videos done, 0 skipped, 1 failed" in result.output
    assert "beta/00002.jpg: missing frame" in result.output
    run_dir = tmp_path / "davis" / "stcn" / "seed1"
    assert (run_dir / "alpha").is_dir() and (run_dir / "gamma").is_dir()
    assert not (run_dir / "beta").exists() and not list(run_dir.glob(".tmp-*"))


def test_without_keep_going_the_first_failure_stops(broken_root, configs, standin_checkpoint, tmp_path):
    result = run(["--dataset", "davis", "-c", "stcn"], broken_root, configs, standin_checkpoint, tmp_path)
    assert result.exit_code == 1
    assert "1 videos done, 0 skipped, 1 failed" in result.output
    assert not (tmp_path / "davis" / "stcn" / "seed1" / "gamma").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("wrong_size", "mask is 10x10 but the frames are 96x64"),
        ("empty", "the first annotated mask is empty"),
        ("rgb", "mask has image mode 'RGB'"),
    ],
)
def test_bad_masks_are_one_line_errors(damage, message, data_root, configs, standin_checkpoint, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(data_root / "MOSE", root / "MOSE")
    mask = root / "MOSE" / "valid" / "Annotations" / "alpha" / "00000.png"
    if damage == "wrong_size":
        write_mask(mask, np.ones((10, 10), dtype=np.uint8))
    elif damage == "empty":
        write_mask(mask, np.zeros((64, 96), dtype=np.uint8))
    else:
        from PIL import Image

        Image.fromarray(np.zeros((64, 96, 3), dtype=np.uint8)).save(mask)
    result = run(
        ["--dataset", "mose", "-c", "stcn", "--videos", "alpha"], root, configs, standin_checkpoint, tmp_path
    )
    assert result.exit_code == 1
    assert message in result.output and str(mask) in result.output.replace("\n", "")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "davis-c"], "--dataset davis-c needs --corruption"),
        (
            ["--dataset", "davis", "--corruption", "brightness/med"],
            "--corruption only applies to --dataset davis-c",
        ),
        (["--dataset", "davis", "--videos", "omega"], "--videos: omega not in davis"),
        (["--dataset", "kitti"], "unknown dataset"),
        (["--dataset", "davis", "--shard", "3/2"], "--shard 3/2: need 0 <= I < N"),
        (["--dataset", "davis", "--weights", "nope.pth"], "not a registered model"),
        (["--dataset", "davis", "-c", "no_such_config"], "unknown config 'no_such_config'"),
    ],
)
def test_bad_options_are_one_line_errors(args, message, data_root, configs, standin_checkpoint, tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            *args,
            "--data-root",
            str(data_root),
            "--output",
            str(tmp_path),
            "-q",
            *([] if "--weights" in args else ["--weights", str(standin_checkpoint)]),
        ],
    )
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_missing_split_file(tmp_path, configs, standin_checkpoint):
    result = run(
        ["--dataset", "davis", "-c", "stcn"], tmp_path, configs, standin_checkpoint, tmp_path / "out"
    )
    assert result.exit_code == 1
    assert "ImageSets/2017/val.txt: split file not found" in result.output.replace("\n", "")

"""XMem through the CLI: ``ttvos run --config xmem / xmem_mcc`` on DAVIS and on a YouTube-VOS tree
with an object that appears late, then ``ttvos evaluate`` (a tiny XMem keeps it fast on a CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.config import load_config, replace, save_config
from ttvos.data.synthetic import make_synthetic_video, write_davis, write_youtube

from .conftest import read_png

runner = CliRunner()
VIDEOS = ("north", "south")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """DAVIS val (ground truth of every frame) and YouTube-VOS (every frame an output; the last
    object first annotated at frame 2) of the same two 5-frame 64x96 videos."""
    root = tmp_path_factory.mktemp("xmem_data")
    videos = {name: make_synthetic_video(5, 64, 96, seed=40 + i) for i, name in enumerate(VIDEOS)}
    write_davis(root, videos)
    write_youtube(root, videos, every=1, late_object=2)
    return root


@pytest.fixture(scope="module")
def xmem_mcc(tmp_path_factory):
    """The bundled xmem_mcc shrunk to 1 round x 2 steps (same name, so the same results folder)."""
    path = tmp_path_factory.mktemp("xmem_configs") / "xmem_mcc.yaml"
    save_config(replace(load_config("xmem_mcc"), **{"ttt.jump_steps": 1, "ttt.iters_per_jump": 2}), path)
    return path


def run(tree, output, weights, *options):
    arguments = [
        "run",
        *options,
        "--data-root",
        str(tree),
        "--weights",
        str(weights),
        "--resolution",
        "native",
        "--output",
        str(output),
        "--device",
        "cpu",
        "--quiet",
    ]
    return runner.invoke(app, arguments)


def evaluate(*arguments):
    return runner.invoke(app, ["evaluate", *arguments, "--format", "json", "--workers", "1", "--quiet"])


@pytest.mark.parametrize("dataset", ["davis", "youtube"])
def test_xmem_and_xmem_mcc_run_and_are_scored(dataset, tree, xmem_mcc, xmem_checkpoint, tmp_path):
    result = run(tree, tmp_path, xmem_checkpoint, "--dataset", dataset, "-c", "xmem", "-c", str(xmem_mcc))
    assert result.exit_code == 0, result.output
    assert "4 videos done, 0 skipped, 0 failed" in result.output
    for name, steps in (("xmem", 0), ("xmem_mcc", 2)):
        run_dir = tmp_path / dataset / name / "seed1"
        record = yaml.safe_load((run_dir / "run.yaml").read_text())
        assert record["config"]["model"] == "xmem" and "deep_update_every" in record["config"]["inference"]
        for video in VIDEOS:
            assert sorted(p.name for p in (run_dir / video).iterdir()) == [f"{t:05d}.png" for t in range(5)]
            log = yaml.safe_load((run_dir / "logs" / f"{video}.json").read_text())
            assert len(log["steps"]) == steps
    if dataset == "youtube":  # the late object takes its own mask on the frame that introduces it
        annotation = read_png(tree / "YouTube2018" / "valid" / "Annotations" / "north" / "00002.png")[1]
        written = read_png(tmp_path / "youtube" / "xmem" / "seed1" / "north" / "00002.png")[1]
        late = int(annotation.max())
        assert np.array_equal(written == late, annotation == late)
        assert not (
            read_png(tmp_path / "youtube" / "xmem" / "seed1" / "north" / "00001.png")[1] == late
        ).any()
    # YouTube-VOS has no public ground truth: score against the same videos' DAVIS-layout masks
    gt = ["--gt", str(tree / "DAVIS" / "2017" / "trainval")] if dataset == "youtube" else []
    scored = evaluate(str(tmp_path / dataset), "--data-root", str(tree), *gt)
    assert scored.exit_code == 0, scored.output
    rows = {row["config"]: row for row in json.loads(scored.stdout)["rows"]}
    assert set(rows) == {"xmem", "xmem_mcc"}
    assert all(0 <= row["jf"]["mean"] <= 1 and row["jf"]["n"] == 1 for row in rows.values())
    assert rows["xmem_mcc"]["baseline"] == "xmem"


@pytest.mark.parametrize(
    ("options", "folder", "count"),
    [
        (["--dataset", "davis-testdev"], "davis-testdev", 3),
        (["--dataset", "davis-c", "--corruption", "brightness/med"], "davis-c/brightness/med", 3),
        (["--dataset", "mose"], "mose", 3),
        (
            ["--frames", "MOSE/valid/JPEGImages/beta", "--mask", "MOSE/valid/Annotations/beta/00000.png"],
            "folder",
            1,
        ),
    ],
)
def test_xmem_runs_on_every_other_layout(options, folder, count, data_root, xmem_checkpoint, tmp_path):
    options = [str(data_root / o) if o.startswith("MOSE/") else o for o in options]
    result = run(data_root, tmp_path, xmem_checkpoint, *options, "-c", "xmem")
    assert result.exit_code == 0, result.output
    assert f"{count} videos done, 0 skipped, 0 failed" in result.output
    assert len(list((tmp_path / folder / "xmem" / "seed1").glob("*/00000.png"))) == count


def test_standin_weights_build_the_family_the_config_asks_for(tree, tmp_path):
    result = run(tree, tmp_path, "standin", "-c", "xmem", "--videos", "north")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "davis" / "xmem" / "seed1" / "run.yaml").read_text())
    assert record["config"]["model"] == "xmem" and record["model"]["weights"] == "standin"


@pytest.mark.parametrize(
    ("config", "weights", "message"),
    [
        ("xmem", "checkpoint", "not an XMem checkpoint"),
        ("stcn", "xmem", "weights 'xmem' are for model xmem, but the config's model is stcn"),
    ],
)
def test_weights_of_another_family_are_refused(config, weights, message, tree, standin_checkpoint, tmp_path):
    weights = str(standin_checkpoint) if weights == "checkpoint" else weights
    result = run(tree, tmp_path, weights, "-c", config)
    assert result.exit_code == 1 and message in " ".join(result.output.split())
    assert "Traceback" not in result.output

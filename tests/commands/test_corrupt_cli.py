"""``ttvos corrupt`` end to end: every type and level, killed and resumed, then run and evaluate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.corruptions import CORRUPTIONS, LEVELS
from ttvos.data.synthetic import make_synthetic_video, write_davis

from .conftest import run_arguments

runner = CliRunner()
VIDEOS = ("aa", "bb")
MADE = list(CORRUPTIONS)[:10]  # style1..4 cannot be made offline


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A data root with a 2-video DAVIS val tree: 4 frames of 64x96 (a size STCN runs at)."""
    root = tmp_path_factory.mktemp("source")
    write_davis(root, {name: make_synthetic_video(4, 64, 96, seed=i) for i, name in enumerate(VIDEOS)})
    return root


def corrupt_args(source: Path, output: Path, *extra: str) -> list[str]:
    return ["corrupt", "--source", str(source), "--output", str(output), "-q", *extra]


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "DAVIS-C").rglob("*.jpg"))}


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> Path:
    """Every type at every level, in one uninterrupted in-process run."""
    output = tmp_path_factory.mktemp("reference")
    result = runner.invoke(app, corrupt_args(source, output, "--corruption", "all", "--level", "all"))
    assert result.exit_code == 0, result.output
    for name in ("style1", "style2", "style3", "style4"):
        assert f"unavailable {name}: {name} needs" in result.output
    assert "ttvos prepare-data davis-c" in result.output
    assert "60 videos corrupted, 0 skipped" in " ".join(result.output.split())
    return output


def test_every_type_and_level_is_written(reference):
    root = reference / "DAVIS-C"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(LEVELS)
    for level in LEVELS:
        assert sorted(p.name for p in (root / level).iterdir()) == sorted(MADE)
        for name in MADE:
            for video in VIDEOS:
                frames = sorted(p.name for p in (root / level / name / video).iterdir())
                assert frames == [f"{t:05d}.jpg" for t in range(4)], f"{level}/{name}/{video}"
    assert json.loads((root / ".ttvos-corrupt.json").read_text()) == {
        "seed": 0,
        "faithful": True,
        "image_format": "jpg",
    }


def test_killed_run_resumes_to_the_same_files(source, reference, tmp_path):
    command = [
        sys.executable,
        "-m",
        "ttvos",
        *corrupt_args(source, tmp_path, "--corruption", "all", "--level", "all"),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, deadline = tmp_path / "DAVIS-C", time.monotonic() + 300
    while not any(p.is_dir() for p in root.glob("*/*/aa")):
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(root.glob("*/*/[ab][ab]")))
    assert 1 <= finished < 60
    rerun = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{60 - finished} videos corrupted, {finished} skipped" in " ".join(rerun.stdout.split())
    assert not list(root.glob("*/*/.tmp-*"))
    assert tree_files(tmp_path) == tree_files(reference)


def test_run_and_evaluate_read_the_output(reference, standin_checkpoint, tmp_path):
    options = [
        "--config",
        "stcn",
        "--dataset",
        "davis-c",
        "--corruption",
        "glass_blur/med",
        "--resolution",
        "native",
    ]
    ran = runner.invoke(app, run_arguments(reference, standin_checkpoint, tmp_path, *options))
    assert ran.exit_code == 0, ran.output
    assert len(list((tmp_path / "davis-c" / "glass_blur" / "med").rglob("*.png"))) == 2 * 4
    scored = runner.invoke(
        app, ["evaluate", str(tmp_path), "--data-root", str(reference), "-q", "--format", "json"]
    )
    assert scored.exit_code == 0, scored.output
    assert "glass_blur" in scored.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--corruption", "fog"],
            "unknown corruption 'fog'; valid: all, gaussian_noise, contrast, brightness",
        ),
        (["--level", "extreme"], "unknown level 'extreme'; valid: all, low, med, high"),
        (["--corruption", "style1"], "style1 needs the TF-Hub"),
        (["--videos", "zz"], "--videos: zz not in"),
    ],
)
def test_bad_names_are_one_line_errors(options, message, source, tmp_path):
    result = runner.invoke(app, corrupt_args(source, tmp_path, *options))
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_other_settings_on_the_same_tree_are_refused(source, tmp_path):
    first = runner.invoke(app, corrupt_args(source, tmp_path, "--corruption", "contrast", "--level", "low"))
    assert first.exit_code == 0, first.output
    changed = runner.invoke(
        app, corrupt_args(source, tmp_path, "--corruption", "pixelate", "--format", "png")
    )
    assert changed.exit_code == 1 and "use the same options or another --output" in " ".join(
        changed.output.split()
    )


def test_worker_processes_write_the_same_files(source, reference, tmp_path):
    options = [
        "--corruption",
        "gaussian_noise,glass_blur,crf_compression",
        "--level",
        "low",
        "--workers",
        "2",
    ]
    result = runner.invoke(app, corrupt_args(source, tmp_path, *options))
    assert result.exit_code == 0, result.output
    ours = tree_files(tmp_path)
    assert len(ours) == 3 * len(VIDEOS) * 4
    assert all(ours[path] == data for path, data in tree_files(reference).items() if path in ours)

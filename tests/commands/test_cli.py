"""The command line, through Typer's CliRunner and as real subprocesses of the installed script."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ttvos import __version__
from ttvos.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
    assert "Test-time training" in result.output


def test_no_arguments_shows_help():
    result = runner.invoke(app, [])
    assert "Usage" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ttvos {__version__}"


def test_reduced_demo_runs_the_paper_experiment_in_miniature(tmp_path):
    """``ttvos demo --quick``: 2 short videos, 1 corruption at 1 level, a 1-round tt-MCC, 1 seed."""
    result = runner.invoke(app, ["demo", "--quick", "--output", str(tmp_path), "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    data = tmp_path / "data"
    truth = data / "DAVIS" / "2017" / "trainval" / "Annotations" / "480p" / "scene00"
    assert len(list(truth.glob("*.png"))) == 6  # ground truth of every frame
    assert len(list((data / "DAVIS-C" / "med" / "gaussian_noise" / "scene00").glob("*.jpg"))) == 6
    for run in ("davis", "davis-c/gaussian_noise/med"):
        for config in ("tiny", "tiny_mcc"):
            folder = tmp_path / "results" / run / config / "seed1"
            assert sorted(p.name for p in (folder / "scene01").glob("*.png")) == [
                f"{t:05d}.png" for t in range(6)
            ]
            assert (folder / "global_results-val.csv").is_file()
    with Image.open(tmp_path / "results" / "davis" / "tiny" / "seed1" / "scene00" / "00000.png") as first:
        with Image.open(truth / "00000.png") as gt:
            assert first.mode == "P" and np.array_equal(np.array(first), np.array(gt))  # frame 0 = annotation
    assert "tiny_mcc" in result.output and "J&F (%)" in result.output and "Δ J&F" in result.output
    for image in ("jf.png", "before_after.png"):
        with Image.open(tmp_path / image) as picture:
            assert picture.width > 100


def test_demo_refuses_unknown_losses(tmp_path):
    result = runner.invoke(app, ["demo", "--quick", "--losses", "mcc,xyz", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "--losses mcc,xyz" in result.output
    assert not (tmp_path / "data").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["demo", "--quick", "--output", str(tmp_path), "--device", "cuda"])
    assert result.exit_code == 1
    assert "error: --device cuda: no CUDA GPU" in result.output
    assert "Traceback" not in result.output


def test_installed_console_script_runs():
    script = shutil.which("ttvos", path=str(Path(sys.executable).parent))
    assert script is not None, "the ttvos console script is not installed next to this Python"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "demo" in result.stdout


def test_python_dash_m_and_help_does_not_import_torch():
    code = "import sys, ttvos.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", "importing the CLI must stay light (no torch)"
    result = subprocess.run(
        [sys.executable, "-m", "ttvos", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == f"ttvos {__version__}"


def test_readme_says_which_commands_take_device():
    """The README's sentence on --device must match the commands' options."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    claim = re.search(r"The commands that run the network \(([^)]*)\) take `--device", readme)
    assert claim, "README: the sentence on --device changed; update this test"
    claimed = set(re.findall(r"`(\w[\w-]*)`", claim.group(1)))
    commands = ["run", "evaluate", "corrupt", "download-models", "prepare-data", "demo", "train"]
    taking = {
        c for c in commands if "--device" in runner.invoke(app, [c, "--help"], terminal_width=200).output
    }
    assert taking == claimed

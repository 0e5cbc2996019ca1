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


def test_demo_runs_the_whole_pipeline(tmp_path):
    args = [
        "demo",
        "--output",
        str(tmp_path),
        "--frames",
        "4",
        "--height",
        "32",
        "--width",
        "48",
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    results = tmp_path / "results" / "davis"
    for config in ("stcn", "stcn_mcc_demo"):
        masks = sorted((results / config / "seed1" / "blobs-a").glob("*.png"))
        assert [p.name for p in masks] == [f"{t:05d}.png" for t in range(4)]
        assert (results / config / "seed1" / "global_results-val.csv").is_file()
    first_gt = (
        tmp_path / "data" / "DAVIS" / "2017" / "trainval" / "Annotations" / "480p" / "blobs-a" / "00000.png"
    )
    with (
        Image.open(results / "stcn" / "seed1" / "blobs-a" / "00000.png") as first,
        Image.open(first_gt) as gt,
    ):
        assert first.mode == "P" and first.size == (48, 32)
        assert np.array_equal(np.array(first), np.array(gt))  # frame 0 reproduces its annotation
    assert "stcn_mcc" in result.output and "J&F (%)" in result.output  # the evaluation table


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["demo", "--output", str(tmp_path), "--frames", "3", "--device", "cuda"])
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

"""``ttvos run`` never silently keeps or mixes wrong results; failures are one line."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.data.synthetic import make_synthetic_video, save_video

from .conftest import read_png, run_arguments, tree_masks

runner = CliRunner()


def invoke(data_root, weights, output, *options):
    """``ttvos run`` at native resolution with the stand-in checkpoint, CPU, quiet."""
    return runner.invoke(app, run_arguments(data_root, weights, output, *options, "--resolution", "native"))


def custom_video(folder, seed):
    """``folder/frames/*.jpg`` and ``folder/m.png``: the same names for every seed."""
    video = make_synthetic_video(4, 48, 64, seed=seed)
    save_video(video, folder / "frames", folder / "masks")
    (folder / "masks" / "00000.png").rename(folder / "m.png")
    return folder / "frames", folder / "m.png"


def test_other_input_under_the_same_name_is_segmented_again(standin_checkpoint, tmp_path):
    a_frames, a_mask = custom_video(tmp_path / "A", seed=1)
    b_frames, b_mask = custom_video(tmp_path / "B", seed=2)
    output = tmp_path / "r"
    options = ("-d", "folder", "-c", "stcn")
    first = invoke(
        tmp_path, standin_checkpoint, output, *options, "--frames", str(a_frames), "--mask", str(a_mask)
    )
    assert first.exit_code == 0, first.output
    second = invoke(
        tmp_path, standin_checkpoint, output, *options, "--frames", str(b_frames), "--mask", str(b_mask)
    )
    assert second.exit_code == 0, second.output
    assert "1 videos done, 0 skipped" in second.output
    assert "its frames or masks changed" in " ".join(second.output.split())
    fresh = invoke(
        tmp_path,
        standin_checkpoint,
        tmp_path / "fresh",
        *options,
        "--frames",
        str(b_frames),
        "--mask",
        str(b_mask),
    )
    assert fresh.exit_code == 0, fresh.output
    kept, expected = tree_masks(output), tree_masks(tmp_path / "fresh")
    assert kept.keys() == expected.keys()
    assert all(np.array_equal(kept[k], expected[k]) for k in kept)
    again = invoke(
        tmp_path, standin_checkpoint, output, *options, "--frames", str(b_frames), "--mask", str(b_mask)
    )
    assert "0 videos done, 1 skipped" in again.output  # same inputs: skipped
    log = json.loads((output / "folder" / "stcn" / "seed1" / "logs" / "frames.json").read_text())
    assert len(log["inputs"]) == 16 and log["outputs"] == 4
    assert read_png(output / "folder" / "stcn" / "seed1" / "frames" / "00000.png")[0] == "P"

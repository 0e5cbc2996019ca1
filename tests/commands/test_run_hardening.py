"""``ttvos run`` never silently keeps or mixes wrong results; failures are one line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import ttvos.data.mask_writer
import ttvos.runner
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


def test_interrupted_overwrite_with_other_settings_is_finished_not_skipped(
    data_root, standin_checkpoint, tmp_path
):
    output = tmp_path / "r"
    run_dir = output / "davis" / "stcn" / "seed1"

    def run_at(resolution, *options):
        arguments = run_arguments(data_root, standin_checkpoint, output, "-c", "stcn", *options)
        return runner.invoke(app, [*arguments, "--resolution", resolution])

    def evaluate():
        return runner.invoke(
            app, ["evaluate", str(output), "--data-root", str(data_root), "-q", "--workers", "1"]
        )

    assert run_at("native").exit_code == 0
    # An --overwrite with another resolution, killed after its first video:
    assert run_at("32", "--overwrite", "--videos", "alpha").exit_code == 0
    for video in ("alpha", "beta"):  # left by killed runs; alpha will be skipped, beta redone
        (run_dir / f".tmp-{video}.424242").mkdir()
        (run_dir / f".tmp-{video}.424242" / "00000.png").write_bytes(b"half")
    mixed = evaluate()
    assert "made with other settings" in " ".join(mixed.output.split())
    assert not (run_dir / "global_results-val.csv").exists()  # no official numbers from mixed videos
    resumed = run_at("32")
    assert resumed.exit_code == 0, resumed.output
    assert "2 videos done, 1 skipped" in resumed.output
    assert not list(run_dir.glob(".tmp-*"))
    assert evaluate().exit_code == 0 and (run_dir / "global_results-val.csv").is_file()
    sizes = {
        json.loads((run_dir / "logs" / f"{v}.json").read_text())["working_size"][0]
        for v in ("alpha", "beta", "gamma")
    }
    assert sizes == {32}


def test_killed_runs_temporary_folders_of_other_videos_are_kept(data_root, standin_checkpoint, tmp_path):
    run_dir = tmp_path / "davis" / "stcn" / "seed1"
    run_dir.mkdir(parents=True)
    for video in ("alpha", "beta"):
        (run_dir / f".tmp-{video}.77").mkdir()
    result = invoke(data_root, standin_checkpoint, tmp_path, "-c", "stcn", "--videos", "alpha")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in run_dir.glob(".tmp-*")) == [".tmp-beta.77"]  # maybe another shard's


def test_frames_and_mask_imply_the_folder_dataset(standin_checkpoint, tmp_path):
    frames, mask = custom_video(tmp_path / "A", seed=1)
    result = invoke(
        tmp_path,
        standin_checkpoint,
        tmp_path / "r",
        "-c",
        "stcn",
        "--frames",
        str(frames),
        "--mask",
        str(mask),
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "r" / "folder" / "stcn" / "seed1" / "frames").glob("*.png"))) == 4


def test_frames_with_another_dataset_is_refused(data_root, standin_checkpoint, tmp_path):
    frames, mask = custom_video(tmp_path / "A", seed=1)
    result = invoke(data_root, standin_checkpoint, tmp_path / "r", "-d", "davis", "--frames", str(frames))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--frames give your own videos (--dataset folder), not --dataset davis" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "r").exists()


def test_impossible_torchrun_shard_is_an_error(data_root, standin_checkpoint, tmp_path):
    arguments = run_arguments(data_root, standin_checkpoint, tmp_path, "-c", "stcn")
    result = runner.invoke(app, arguments, env={"RANK": "3", "WORLD_SIZE": "2"})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "RANK=3 WORLD_SIZE=2: no shard of 2" in " ".join(result.output.split())


def test_amp_on_cpu_is_recorded_as_what_ran(data_root, standin_checkpoint, tmp_path):
    result = invoke(
        data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn", "--videos", "alpha", "--amp"
    )
    assert result.exit_code == 0, result.output
    assert "amp (mixed precision) does not run on cpu" in " ".join(result.output.split())
    record = yaml.safe_load((tmp_path / "mose" / "stcn" / "seed1" / "run.yaml").read_text())
    assert record["config"]["amp"] is False


@pytest.mark.parametrize(
    ("where", "message"), [("file", "is a file, not a folder"), ("inside", "which is a file")]
)
def test_output_blocked_by_a_file_is_one_line(where, message, data_root, standin_checkpoint, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    output = blocker if where == "file" else blocker / "results"
    result = invoke(data_root, standin_checkpoint, output, "-c", "stcn")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in " ".join(result.output.split())
    assert blocker.read_text() == "keep me"


def disk_error(code):
    def fail(path, *args, **kwargs):
        Path(path).write_bytes(b"half-written")  # what a full disk leaves before the error
        raise OSError(code, os.strerror(code), str(path))

    return fail


def test_disk_full_fails_the_video_and_leaves_nothing_half_written(
    data_root, standin_checkpoint, tmp_path, monkeypatch
):
    # the masks are written by the runner's background MaskWriter: its failure must reach the video
    monkeypatch.setattr(ttvos.data.mask_writer, "write_mask", disk_error(errno.ENOSPC))
    result = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn")
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "0 videos done, 0 skipped, 1 failed" in output  # stops at the first failure
    assert "No space left on device; the disk is full" in output
    run_dir = tmp_path / "mose" / "stcn" / "seed1"
    assert not list(run_dir.glob(".tmp-*")) and not (run_dir / "alpha").exists()


def test_read_only_output_is_one_line(data_root, standin_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(ttvos.runner, "write_run_record", disk_error(errno.EROFS))
    result = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Read-only file system; the file system is read-only" in " ".join(result.output.split())


def test_weights_that_are_a_text_file_are_one_line(data_root, tmp_path):
    weights = tmp_path / "stcn.pth"
    weights.write_text("this is not a checkpoint\n")
    result = invoke(data_root, weights, tmp_path / "r", "-d", "mose", "-c", "stcn")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not a PyTorch checkpoint (it looks like a text file)" in " ".join(result.output.split())


def test_corrupt_run_record_is_one_line_and_overwrite_starts_afresh(data_root, standin_checkpoint, tmp_path):
    run_dir = tmp_path / "mose" / "stcn" / "seed1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.yaml").write_text("dataset: mose\nconfig: [truncated")
    options = ("-d", "mose", "-c", "stcn", "--videos", "alpha")
    refused = invoke(data_root, standin_checkpoint, tmp_path, *options)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "run.yaml:unreadablerunrecord" in "".join(refused.output.split())
    fresh = invoke(data_root, standin_checkpoint, tmp_path, *options, "--overwrite")
    assert fresh.exit_code == 0, fresh.output
    assert yaml.safe_load((run_dir / "run.yaml").read_text())["dataset"] == "mose"


def failing_segmentation(failures):
    """segment_video that raises ``failures[video name]`` for those videos."""
    real = ttvos.runner.segment_video

    def segment(network, video, *args, **kwargs):
        if video.video.name in failures:
            raise failures[video.video.name]
        yield from real(network, video, *args, **kwargs)

    return segment


OUT_OF_MEMORY = RuntimeError(
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 60000000000 bytes. Error code 12 (Cannot allocate memory)"
)


def test_out_of_memory_is_one_line_and_recorded(data_root, standin_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(ttvos.runner, "segment_video", failing_segmentation({"alpha": OUT_OF_MEMORY}))
    result = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn")
    assert result.exit_code == 1 and "Traceback" not in result.output
    output = "".join(result.output.split())
    assert "outofmemoryoncpu(couldnotallocate60.0GB);lower--resolution" in output
    failed = json.loads((tmp_path / "mose" / "stcn" / "seed1" / "failed.json").read_text())
    assert list(failed) == ["alpha"] and failed["alpha"]["type"] == "RuntimeError"


def test_keep_going_survives_runtime_and_io_failures(data_root, standin_checkpoint, tmp_path, monkeypatch):
    failures = {"beta": RuntimeError("boom in a kernel"), "gamma": OSError(errno.EIO, "Input/output error")}
    monkeypatch.setattr(ttvos.runner, "segment_video", failing_segmentation(failures))
    result = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn", "--keep-going")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "1 videos done, 0 skipped, 2 failed" in result.output
    run_dir = tmp_path / "mose" / "stcn" / "seed1"
    failed = json.loads((run_dir / "failed.json").read_text())
    assert sorted(failed) == ["beta", "gamma"]
    assert failed["beta"]["error"].startswith("RuntimeError: boom in a kernel")
    assert "boom in a kernel" in failed["beta"]["traceback"] and failed["gamma"]["type"] == "OSError"
    assert not list(run_dir.glob(".tmp-*"))
    monkeypatch.undo()
    again = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn")
    assert "2 videos done, 1 skipped, 0 failed" in again.output
    assert not (run_dir / "failed.json").exists()  # nothing left that failed


def test_a_bug_without_keep_going_stays_a_traceback(data_root, standin_checkpoint, tmp_path, monkeypatch):
    failures = {"alpha": RuntimeError("boom in a kernel")}
    monkeypatch.setattr(ttvos.runner, "segment_video", failing_segmentation(failures))
    result = invoke(data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn")
    assert isinstance(result.exception, RuntimeError)


def test_without_a_terminal_one_line_per_video_and_per_steps(
    data_root, configs, standin_checkpoint, tmp_path
):
    arguments = run_arguments(
        data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", str(configs / "tiny_ae.yaml")
    )
    arguments.remove("--quiet")
    result = runner.invoke(app, [*arguments, "--resolution", "native", "--videos", "alpha,beta"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for video in ("alpha", "beta"):
        where = f"mose/tiny_ae/seed1/{video}"
        assert sum(f"started {where}: 5 frames, 2 TTT steps, 5 PNGs" in line for line in lines) == 1
        assert sum(f"{where}: TTT step 2/2, loss " in line for line in lines) == 1  # the last step
        assert sum(f"done {where} (" in line for line in lines) == 1
    assert "━" not in result.output  # no progress bars in a log file


def test_run_record_says_where_and_how_the_run_was_made(data_root, standin_checkpoint, tmp_path, monkeypatch):
    import datetime

    monkeypatch.setattr("sys.argv", ["/venv/bin/ttvos", "run", "-d", "mose", "--note", "a b"])
    assert (
        invoke(
            data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn", "--videos", "alpha"
        ).exit_code
        == 0
    )
    record = yaml.safe_load((tmp_path / "mose" / "stcn" / "seed1" / "run.yaml").read_text())
    assert record["data_root"] == str(data_root.resolve()) and record["device"] == "cpu"
    assert record["command"] == "ttvos run -d mose --note 'a b'"
    assert datetime.datetime.fromisoformat(record["date"]).tzinfo is not None
    frames, mask = custom_video(tmp_path / "A", seed=1)
    options = ("-c", "stcn", "--frames", str(frames), "--mask", str(mask))
    assert invoke(tmp_path, standin_checkpoint, tmp_path / "r", *options).exit_code == 0
    custom = yaml.safe_load((tmp_path / "r" / "folder" / "stcn" / "seed1" / "run.yaml").read_text())
    assert custom["inputs"] == {"frames": str(frames.resolve()), "mask": str(mask.resolve())}
    assert custom["data_root"] is None


def test_verbose_shows_ttvos_debug_logs_not_pil_noise(data_root, standin_checkpoint, tmp_path):
    arguments = run_arguments(
        data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn", "--videos", "alpha"
    )
    arguments.remove("--quiet")
    result = runner.invoke(app, [*arguments, "--resolution", "native", "--verbose"])
    assert result.exit_code == 0, result.output
    output = "".join(result.output.split())
    assert "alpha:5framesof96x64,workingsize96x64" in output  # a ttvos debug log
    assert "STREAM" not in result.output and "PngImagePlugin" not in result.output


def test_youtube_without_all_frames_warns_once_and_records_it(data_root, standin_checkpoint, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_root / "YouTube2018" / "valid", root / "YouTube2018" / "valid")
    arguments = run_arguments(
        root, standin_checkpoint, tmp_path / "r", "-d", "youtube", "-c", "stcn", "--seed", "1", "--seed", "2"
    )
    result = runner.invoke(app, [*arguments, "--resolution", "native", "--videos", "alpha"])
    assert result.exit_code == 0, result.output
    assert "".join(result.output.split()).count("6fpsframes") == 1
    record = yaml.safe_load((tmp_path / "r" / "youtube" / "stcn" / "seed2" / "run.yaml").read_text())
    assert len(record["notes"]) == 1 and "6 fps" in record["notes"][0]

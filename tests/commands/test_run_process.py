"""``ttvos run`` as real processes: killed and resumed, sharded, and the README's example command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import VIDEO_NAMES, run_arguments, tree_masks

TTVOS = [sys.executable, "-m", "ttvos"]


def environment(**extra: str) -> dict[str, str]:
    # One thread everywhere: results are then bit-identical across processes.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}


def command(data_root: Path, configs: Path, weights: Path, output: Path, *extra: str) -> list[str]:
    options = ["--config", str(configs / "tiny_ae.yaml"), "--dataset", "davis", *extra]
    return [*TTVOS, *run_arguments(data_root, weights, output, *options)]


@pytest.fixture(scope="module")
def reference(data_root, configs, standin_checkpoint, tmp_path_factory) -> Path:
    """An uninterrupted single-process run."""
    output = tmp_path_factory.mktemp("reference")
    subprocess.run(
        command(data_root, configs, standin_checkpoint, output),
        env=environment(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert len(tree_masks(output)) == 3 * 5
    return output


def test_killed_run_resumes_with_only_the_missing_videos(
    reference, data_root, configs, standin_checkpoint, tmp_path
):
    args = command(data_root, configs, standin_checkpoint, tmp_path)
    run_dir = tmp_path / "davis" / "tiny_ae" / "seed1"
    process = subprocess.Popen(args, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (run_dir / VIDEO_NAMES[0]).is_dir():
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = [v for v in VIDEO_NAMES if (run_dir / v).is_dir()]
    assert 1 <= len(finished) < len(VIDEO_NAMES)
    rerun = subprocess.run(args, env=environment(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = f"{len(VIDEO_NAMES) - len(finished)} videos done, {len(finished)} skipped, 0 failed"
    assert summary in " ".join(rerun.stdout.split())
    assert not list(run_dir.glob(".tmp-*"))
    ours, expected = tree_masks(tmp_path), tree_masks(reference)
    assert ours.keys() == expected.keys()
    assert all((ours[k] == expected[k]).all() for k in expected)


def test_two_shards_in_two_processes_equal_one_process(
    reference, data_root, configs, standin_checkpoint, tmp_path
):
    processes = [
        subprocess.Popen(
            command(data_root, configs, standin_checkpoint, tmp_path, "--shard", f"{i}/2"),
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert "2 videos done" in " ".join(outputs[0][0].split()) and "1 videos done" in " ".join(
        outputs[1][0].split()
    )
    ours, expected = tree_masks(tmp_path), tree_masks(reference)
    assert ours.keys() == expected.keys()
    assert all((ours[k] == expected[k]).all() for k in expected)


def test_shards_from_a_slurm_array(data_root, configs, standin_checkpoint, tmp_path):
    env = environment(SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_COUNT="3", SLURM_ARRAY_TASK_MIN="0")
    result = subprocess.run(
        command(data_root, configs, standin_checkpoint, tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "shard 1/3 (SLURM array)" in " ".join(result.stdout.split())
    assert [
        p.name for p in (tmp_path / "davis" / "tiny_ae" / "seed1").iterdir() if p.name in VIDEO_NAMES
    ] == ["beta"]


def test_readme_example_command(data_root, configs, standin_checkpoint, tmp_path):
    """The exact command of the README, resolved through the documented search order: the data
    root from $TTVOS_DATA, the 'stcn' weights from the weights cache and 'stcn_mcc' from the user
    config folder (a shrunken copy, which hides the bundled config of that name)."""
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(standin_checkpoint, weights / "stcn.pth")
    user_configs = tmp_path / "user-configs"
    user_configs.mkdir()
    text = (configs / "tiny_mcc.yaml").read_text().replace("name: tiny_mcc", "name: stcn_mcc")
    (user_configs / "stcn_mcc.yaml").write_text(text)
    env = environment(
        TTVOS_DATA=str(data_root), TTVOS_WEIGHTS=str(weights), TTVOS_CONFIG_DIR=str(user_configs)
    )
    example = [
        "run",
        "--config",
        "stcn_mcc",
        "--dataset",
        "davis-c",
        "--corruption",
        "brightness/med",
        "--seed",
        "5",
    ]
    result = subprocess.run(
        [*TTVOS, *example, "--videos", "alpha"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "results" / "davis-c" / "brightness" / "med" / "stcn_mcc" / "seed5"
    assert len(list((run_dir / "alpha").glob("*.png"))) == 5
    assert (run_dir / "run.yaml").is_file() and (run_dir / "logs" / "alpha.json").is_file()


def test_run_help_documents_every_option():
    result = subprocess.run(
        [*TTVOS, "run", "--help"], capture_output=True, text=True, timeout=120, env=environment(COLUMNS="200")
    )
    assert result.returncode == 0
    options = [
        "--config",
        "--dataset",
        "--corruption",
        "--seed",
        "--videos",
        "--data-root",
        "--frames",
        "--mask",
        "--weights",
        "--resolution",
        "--amp",
        "--device",
        "--output",
        "--overwrite",
        "--keep-going",
        "--shard",
        "--quiet",
        "--verbose",
    ]
    rows = [line.lstrip("│ ") for line in result.stdout.splitlines() if line.startswith("│")]
    for option in options:
        line = next((row for row in rows if row.startswith(f"{option} ")), None)
        assert line is not None, f"{option} missing from --help"
        assert len(line.split(option, 1)[1].strip()) > 20, f"{option} has no explanation"

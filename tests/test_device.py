"""How many CPUs this process may use (affinity and cgroup quotas), computed when asked."""

from __future__ import annotations

import os

import pytest

from ttvos.device import available_cpus


def affinity() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_no_quota_means_the_affinity_mask(tmp_path):
    assert available_cpus(tmp_path, "0::/\n") == affinity()


@pytest.mark.parametrize(
    ("cpu_max", "expected"), [("50000 100000", 1), ("max 100000", None), ("100000 100000", 1)]
)
def test_cgroup_v2_quota_caps_the_count(tmp_path, cpu_max, expected):
    job = tmp_path / "job"
    job.mkdir()
    (job / "cpu.max").write_text(cpu_max + "\n")
    assert available_cpus(tmp_path, "0::/job\n") == (expected or affinity())


def test_the_smallest_quota_on_the_path_wins_and_v1_is_read(tmp_path):
    (tmp_path / "cpu" / "slurm" / "step").mkdir(parents=True)
    (tmp_path / "cpu" / "slurm" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "slurm" / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpu" / "slurm" / "step" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "slurm" / "step" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path, "4:memory:/x\n1:cpu:/slurm/step\n") == 1


def test_affinity_limits_the_count():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this system")
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert available_cpus() == 1  # at call time, not when ttvos was imported
    finally:
        os.sched_setaffinity(0, before)

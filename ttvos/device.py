"""Choosing the compute device from ``--device auto|cpu|cuda|mps``, and how many CPUs we may use.

torch is imported only to resolve a device: ``ttvos evaluate`` asks for the CPU count without it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ttvos.errors import UserError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable explicit choice is an error.

    ``cuda:N`` selects one GPU (``torchrun`` ranks use ``LOCAL_RANK`` this way).
    """
    import torch

    mps_available = torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available else "cpu")
    kind = name.split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    if kind == "mps" and not mps_available:
        raise UserError("--device mps: Apple MPS is not available here; use --device cpu or auto")
    if kind not in ("cpu", "cuda", "mps"):
        raise UserError(f"--device {name}: expected auto, cpu, cuda, cuda:N or mps")
    return torch.device(name)


def available_cpus(cgroup: Path = Path("/sys/fs/cgroup"), membership: str | None = None) -> int:
    """The CPUs this process may use: its affinity mask (taskset, SLURM's cpus-per-task) capped by
    the CPU quota of its cgroups (containers, Kubernetes limits); ``os.cpu_count()`` counts the
    machine's. ``membership``: the text of ``/proc/self/cgroup`` (read when None)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text()
        except OSError:
            membership = ""
    quota = _cgroup_quota(cgroup, membership)
    return max(1, min(count, math.ceil(quota)) if quota else count)


def _cgroup_quota(root: Path, membership: str) -> float | None:
    """The smallest CPU quota along this process's cgroup paths: v2 ``cpu.max`` ("QUOTA PERIOD" or
    "max PERIOD") or v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none)."""
    quotas = []
    for line in membership.splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            bases, read = [root, root / "unified"], _v2_quota
        elif "cpu" in controllers.split(","):
            bases, read = [root / controllers, root / "cpu"], _v1_quota
        else:
            continue
        for base in bases:
            folder = base / path.lstrip("/")
            for level in [folder, *folder.parents]:
                if not level.is_relative_to(base):
                    break
                quota = read(level)
                if quota:
                    quotas.append(quota)
                if level == base:
                    break
    return min(quotas) if quotas else None


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None

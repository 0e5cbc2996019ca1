"""Splitting a sweep's videos over processes: ``--shard I/N``, torchrun and SLURM job arrays."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ttvos.errors import UserError


@dataclass(frozen=True)
class Shard:
    """This process handles the work items whose position ``p`` has ``p % count == index``."""

    index: int = 0
    count: int = 1
    origin: str = "single process"

    def owns(self, position: int) -> bool:
        return position % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count} ({self.origin})"


def parse_shard(text: str) -> Shard:
    """``I/N`` with 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserError(f"--shard {text}: expected I/N, e.g. 0/4 (I counts from 0)") from None
    if not 0 <= index < count:
        raise UserError(f"--shard {text}: need 0 <= I < N")
    return Shard(index, count, "--shard")


def detect_shard(explicit: str | None, environ: Mapping[str, str] = os.environ) -> Shard:
    """``--shard`` if given; else torchrun's ``RANK``/``WORLD_SIZE``; else a SLURM job array; else 0/1.

    SLURM array ids may start anywhere (``--array=1-8``): the index is relative to
    ``SLURM_ARRAY_TASK_MIN``.
    """
    if explicit:
        return parse_shard(explicit)
    if "WORLD_SIZE" in environ and "RANK" in environ:
        rank, size = _integers(environ, "RANK", "WORLD_SIZE")
        return _checked(Shard(rank, size, "torchrun"), f"RANK={rank} WORLD_SIZE={size}")
    if "SLURM_ARRAY_TASK_ID" in environ and "SLURM_ARRAY_TASK_COUNT" in environ:
        names = (
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_STEP",
        )
        task, count, first, step = _integers(
            {"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "1", **environ}, *names
        )
        offset = task - first
        index = offset // step if step > 0 and offset % step == 0 else -1  # ids must be first + k * step
        values = " ".join(f"{name}={environ[name]}" for name in names if name in environ)
        return _checked(Shard(index, count, "SLURM array"), values)
    return Shard()


def _integers(environ: Mapping[str, str], *names: str) -> list[int]:
    try:
        return [int(environ[name]) for name in names]
    except ValueError:
        values = " ".join(f"{name}={environ[name]}" for name in names)
        raise UserError(f"{values}: expected integers; fix the environment or pass --shard I/N") from None


def _checked(shard: Shard, values: str) -> Shard:
    """An environment that names no valid shard would process nothing (or everything twice): refuse it."""
    if not 0 <= shard.index < shard.count:
        raise UserError(
            f"{values}: no shard of {shard.count} matches this {shard.origin} task; fix the environment or "
            "pass --shard I/N (0 <= I < N)"
        )
    return shard


def local_device(device: str, environ: Mapping[str, str] = os.environ) -> str:
    """Under torchrun each rank takes its own GPU (``LOCAL_RANK``) when CUDA is asked for or automatic."""
    if "LOCAL_RANK" in environ and device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:{int(environ['LOCAL_RANK']) % torch.cuda.device_count()}"
    return device

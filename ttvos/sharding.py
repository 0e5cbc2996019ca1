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
        return Shard(int(environ["RANK"]), int(environ["WORLD_SIZE"]), "torchrun")
    if "SLURM_ARRAY_TASK_ID" in environ and "SLURM_ARRAY_TASK_COUNT" in environ:
        first = int(environ.get("SLURM_ARRAY_TASK_MIN", "0"))
        index = int(environ["SLURM_ARRAY_TASK_ID"]) - first
        return Shard(index, int(environ["SLURM_ARRAY_TASK_COUNT"]), "SLURM array")
    return Shard()


def local_device(device: str, environ: Mapping[str, str] = os.environ) -> str:
    """Under torchrun each rank takes its own GPU (``LOCAL_RANK``) when CUDA is asked for or automatic."""
    if "LOCAL_RANK" in environ and device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:{int(environ['LOCAL_RANK']) % torch.cuda.device_count()}"
    return device

"""A sweep as the user asks for it (configs x sources x seeds x videos) -> checked plan and runner."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ttvos.config import Config, load_config, replace
from ttvos.data.datasets import DATASETS, DatasetSource, default_data_root, expand_corruptions, open_dataset
from ttvos.data.io import DataError
from ttvos.device import resolve_device
from ttvos.errors import UserError
from ttvos.records import Provenance
from ttvos.runner import Runner, RunTarget, WorkItem, plan
from ttvos.sharding import Shard, detect_shard, local_device
from ttvos.ttt.adapt import sequence_lengths
from ttvos.ttt.replay import ReplayFile, load_replay

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepRequest:
    """Everything ``ttvos run`` was asked (names and strings as typed, not yet checked)."""

    configs: list[str]
    dataset: str | None  # None: folder when --frames/--mask are given, else davis
    output: Path
    corruptions: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [1])
    videos: list[str] = field(default_factory=list)  # names, or comma-separated names
    data_root: Path | None = None
    frames: Path | None = None  # --dataset folder
    mask: Path | None = None  # --dataset folder
    weights: str | None = None  # overrides of the configs' values
    resolution: str | None = None
    amp: bool | None = None
    device: str = "auto"
    overwrite: bool = False
    keep_going: bool = False
    shard: str | None = None
    command: str | None = None  # the command line as typed (recorded in run.yaml)
    replay_draws: Path | None = None  # recorded frame draws: JSON, per-video log or run folder


@dataclass
class Sweep:
    """A checked sweep: this process's work items and the runner that processes them."""

    runner: Runner
    items: list[WorkItem]
    shard: Shard
    device: torch.device
    started: float = field(default_factory=time.perf_counter)


def _configs(names: list[str], weights: str | None, resolution: str | None, amp: bool | None) -> list[Config]:
    overrides: dict[str, object] = {}
    if weights is not None:
        overrides["weights"] = weights
    if amp is not None:
        overrides["amp"] = amp
    if resolution is not None:
        value = int(resolution) if resolution.isdigit() else resolution
        overrides["inference.resolution"] = overrides["ttt.resolution"] = value
    configs = [replace(load_config(name), "command-line options", **overrides) for name in names]
    if len({c.name for c in configs}) != len(configs):
        raise UserError("--config: two configs have the same name; their results would share a folder")
    return configs


def _what_runs_on(device: torch.device, configs: list[Config]) -> list[Config]:
    """The configs as they will run: an ``amp`` the device does not compute (``true`` off CUDA, a
    half dtype without native support) runs, and is recorded, in full precision."""
    from ttvos.inference.precision import autocast_dtype

    full = {c.name for c in configs if c.amp is not False and autocast_dtype(c.amp, device) is None}
    if not full:
        return configs
    logger.warning(
        "amp (mixed precision) does not run on %s: %s run in full precision, recorded as amp: false",
        device,
        ", ".join(sorted(full)),
    )
    return [replace(c, f"amp on {device.type}", amp=False) if c.name in full else c for c in configs]


def _check_output(output: Path) -> None:
    """The results root must be, or become, a writable folder: say so before any model is loaded."""
    for folder in (output, *output.parents):
        if not folder.exists():
            continue
        if not folder.is_dir():
            where = "is a file" if folder == output else f"lies inside {folder}, which is a file"
            raise UserError(f"--output {output}: {where}, not a folder; choose another --output")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UserError(
                f"--output {output}: {folder} is not writable (read-only?); choose another --output"
            )
        return


def _dataset(request: SweepRequest) -> str:
    """--frames/--mask mean your own videos: they imply --dataset folder and contradict any other."""
    custom = [option for option, value in (("--frames", request.frames), ("--mask", request.mask)) if value]
    if request.dataset is None:
        return "folder" if custom else "davis"
    if custom and request.dataset != "folder":
        raise UserError(
            f"{' and '.join(custom)} give your own videos (--dataset folder), not "
            f"--dataset {request.dataset}; drop them or use --dataset folder"
        )
    return request.dataset


def _sources(dataset: str, corruptions: list[str]) -> list[DatasetSource]:
    if dataset not in DATASETS:
        raise UserError(f"--dataset {dataset}: unknown dataset; use one of {', '.join(DATASETS)}")
    if dataset == "davis-c":
        if not corruptions:
            raise UserError("--dataset davis-c needs --corruption NAME/LEVEL (or all, NAME/all, all/LEVEL)")
        return [DatasetSource(dataset, name, level) for name, level in expand_corruptions(corruptions)]
    if corruptions:
        raise UserError(f"--corruption only applies to --dataset davis-c, not {dataset}")
    return [DatasetSource(dataset)]


def _replay(path: Path, configs: list[Config], items: list[WorkItem]) -> ReplayFile:
    """Read --replay-draws and check it against every video that trains, before any is processed."""
    if not any(config.ttt.enabled for config in configs):
        raise UserError("--replay-draws: no config of this run trains (loss none): nothing to replay")
    replay = load_replay(path)
    for item in items:
        ttt = item.target.config.ttt
        if not ttt.enabled:
            continue
        draws = replay.for_video(item.video)
        try:
            video = item.dataset.video(item.video)
        except DataError:
            continue  # a broken video fails on its own when processed (and --keep-going goes on)
        draws.check(len(video.frames), sorted(video.annotations), sequence_lengths(ttt))
    return replay


def prepare_sweep(request: SweepRequest) -> Sweep:
    """Validate every option, open the datasets, plan this shard's videos and load the models."""
    configs = _configs(request.configs, request.weights, request.resolution, request.amp)
    device = resolve_device(local_device(request.device))
    configs = _what_runs_on(device, configs)
    _check_output(request.output)
    dataset = _dataset(request)
    sources = _sources(dataset, request.corruptions)
    root = request.data_root or default_data_root()
    cache = request.output / ".frames"
    datasets = {
        s: open_dataset(s, root, frames=request.frames, mask=request.mask, cache=cache) for s in sources
    }
    for note in dict.fromkeys(note for d in datasets.values() for note in d.notes):  # once per run
        logger.warning(note)
    wanted = [name for entry in request.videos for name in entry.split(",") if name]
    known = {name for d in datasets.values() for name in d.names}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise UserError(f"--videos: {', '.join(unknown)} not in {dataset} (it has {len(known)} videos)")
    targets = [
        RunTarget(source, config, seed) for source in sources for config in configs for seed in request.seeds
    ]
    shard = detect_shard(request.shard)
    items = plan(targets, datasets, wanted or None, shard)
    logger.debug("%d run folders, %d videos for shard %s on %s", len(targets), len(items), shard, device)
    replay = _replay(request.replay_draws, configs, items) if request.replay_draws else None
    inputs = {
        name: str(path.resolve())
        for name, path in (("frames", request.frames), ("mask", request.mask))
        if path
    }
    provenance = Provenance(str(root.resolve()) if dataset != "folder" else None, inputs, request.command)
    runner = Runner(
        request.output,
        device,
        overwrite=request.overwrite,
        keep_going=request.keep_going,
        replay=replay,
        provenance=provenance,
    )
    runner.prepare(items)
    return Sweep(runner, items, shard, device)

"""Running a sweep: (sources x configs x seeds) run directories, each holding every video's masks.

Layout: ``<output>/<dataset>[/<corruption>/<level>]/<config>/seed<N>/`` with one folder of palette
PNGs per video (the official results layout), ``logs/<video>.json`` and ``run.yaml``. A video's
folder appears only when it is complete (written under a temporary name, then renamed), so a
rerun skips finished videos and redoes interrupted ones; shards write disjoint videos.
"""

from __future__ import annotations

import datetime
import functools
import glob
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

import ttvos
from ttvos.config import Config, config_to_dict
from ttvos.data.datasets import Dataset, DatasetSource
from ttvos.data.mask_writer import MaskWriter
from ttvos.data.video import VOSVideo, load_video
from ttvos.errors import UserError, describe_os_error
from ttvos.families import FAMILIES
from ttvos.inference.segment import segment_video
from ttvos.paths import write_text_atomic
from ttvos.records import (
    LOG_DIR,
    RUN_FILE,
    Provenance,
    RunRecord,
    VideoStamp,
    read_run_record,
    read_video_stamp,
    update_failures,
    write_run_record,
)
from ttvos.sharding import Shard
from ttvos.ttt.adapt import StepLog, TestTimeTrainer, video_seed
from ttvos.ttt.replay import ReplayFile, draw_record
from ttvos.weights import resolve_weights, sha256_of

_TEMP_PREFIX = ".tmp-"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunTarget:
    """One run directory: what was read, with which config and seed."""

    source: DatasetSource
    config: Config
    seed: int

    def directory(self, root: Path) -> Path:
        return root.joinpath(*self.source.parts, self.config.name, f"seed{self.seed}")


@dataclass(frozen=True)
class WorkItem:
    """One video of one run directory."""

    target: RunTarget
    dataset: Dataset
    video: str


@dataclass(frozen=True)
class VideoStarted:
    item: WorkItem
    frames: int
    outputs: int
    ttt_steps: int


@dataclass(frozen=True)
class StepDone:
    item: WorkItem
    step: StepLog


@dataclass(frozen=True)
class FrameWritten:
    """A frame's mask is segmented and queued for writing (all are on disk when the video finishes)."""

    item: WorkItem
    index: int


@dataclass(frozen=True)
class VideoFinished:
    item: WorkItem
    status: Literal["done", "skipped", "failed"]
    seconds: float = 0.0
    error: str | None = None


Event = VideoStarted | StepDone | FrameWritten | VideoFinished


@dataclass
class RunSummary:
    """Counts of a finished (or stopped) run, and the failures with their messages."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[WorkItem, str]] = field(default_factory=list)

    def add(self, event: VideoFinished) -> None:
        if event.status == "done":
            self.done += 1
        elif event.status == "skipped":
            self.skipped += 1
        else:
            self.failed.append((event.item, event.error or "failed"))


def _out_of_memory(error: RuntimeError) -> bool:
    """CUDA's OutOfMemoryError, or an allocator failure on the CPU or MPS (plain RuntimeErrors)."""
    text = str(error)
    return isinstance(error, torch.cuda.OutOfMemoryError) or any(
        marker in text for marker in ("out of memory", "can't allocate memory", "Cannot allocate memory")
    )


def _allocation(error: RuntimeError) -> str:
    """``could not allocate 60.0 GB`` from the allocators' messages (CPU: bytes, CUDA: 'MiB' etc.)."""
    found = re.search(r"[Tt]ried to allocate ([\d.]+) ?(\w+)", str(error))
    if found is None:
        return _first_line(error)
    amount, unit = found.groups()
    return (
        f"could not allocate {float(amount) / 1e9:.1f} GB"
        if unit == "bytes"
        else f"could not allocate {amount} {unit}"
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _note_failure(directory: Path, video: str, entry: dict[str, str] | None) -> None:
    """failed.json is a report: a disk that cannot take it must not turn a failure into a crash."""
    try:
        update_failures(directory, video, entry)
    except OSError as error:
        logger.warning("%s: %s", directory, describe_os_error(error))


def _failure_entry(error: BaseException, message: str) -> dict[str, str]:
    return {
        "error": message,
        "type": type(error).__name__,
        "traceback": "".join(traceback.format_exception(error)),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def plan(
    targets: list[RunTarget], datasets: dict[DatasetSource, Dataset], videos: list[str] | None, shard: Shard
) -> list[WorkItem]:
    """Every (run directory, video) pair in a fixed order, then this shard's share of it."""
    items = []
    for target in targets:
        dataset = datasets[target.source]
        names = dataset.names if not videos else [n for n in dataset.names if n in videos]
        items += [WorkItem(target, dataset, name) for name in names]
    return [item for position, item in enumerate(items) if shard.owns(position)]


@functools.cache
def _git_revision() -> str | None:
    """The ttvos source revision when it runs from a git checkout (recorded in run.yaml)."""
    source = Path(ttvos.__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except OSError:
        return None
    return result.stdout.strip() or None


@dataclass
class _Model:
    network: nn.Module  # of the config's model family (STCN, XMem)
    trainer: TestTimeTrainer
    description: dict[str, str | None]


class Runner:
    """Processes work items and reports progress as events (the command layer draws them)."""

    def __init__(
        self,
        output: Path,
        device: torch.device,
        *,
        overwrite: bool = False,
        keep_going: bool = False,
        replay: ReplayFile | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        self.output = output
        self.provenance = provenance or Provenance()
        self.device = device
        self.overwrite = overwrite
        self.keep_going = keep_going
        self.replay = replay  # --replay-draws: recorded frame draws instead of random ones
        self._models: dict[tuple[str, str], _Model] = {}  # (model, weights) -> network
        self._settings: dict[Path, str] = {}  # run directory -> RunRecord.settings_digest()

    # -- models and run directories -------------------------------------------------------

    def _model(self, config: Config) -> _Model:
        """The network of the config's model family holding its weights (loaded once per run)."""
        weights, key = config.weights, (config.model, config.weights)
        if key not in self._models:
            path = resolve_weights(weights, config.model)
            network = FAMILIES[config.model].build(path, self.device)
            description = {
                "weights": weights,
                "path": None if path is None else str(path),
                "sha256": None if path is None else sha256_of(path),
            }
            self._models[key] = _Model(network, TestTimeTrainer(network), description)
            logger.debug("weights %s loaded on %s from %s", weights, self.device, path or "the stand-in rule")
        return self._models[key]

    def _record(self, item: WorkItem, model: _Model) -> RunRecord:
        """What ``run.yaml`` holds: enough to reproduce the run and to refuse mixing two runs."""
        target = item.target
        return RunRecord(
            dataset=target.source.dataset,
            corruption=target.source.corruption,
            level=target.source.level,
            seed=target.seed,
            config=config_to_dict(target.config),
            model=model.description,
            versions={
                "ttvos": ttvos.__version__,
                "torch": str(torch.__version__),
                "numpy": np.__version__,
                "python": platform.python_version(),
                "git": _git_revision(),
            },
            videos=list(item.dataset.names),
            notes=list(item.dataset.notes),
            replay_draws=None if self.replay is None or not target.config.ttt.enabled else self.replay.digest,
            data_root=self.provenance.data_root,
            inputs=self.provenance.inputs,
            device=str(self.device),
            command=self.provenance.command,
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            how_to_replay=(
                f"the same ttvos run command with --replay-draws {target.directory(self.output).resolve()} "
                "and another --output: same masks, byte for byte, on the same machine (docs/ttt.md)"
                if target.config.ttt.enabled
                else None
            ),
        )

    def _prepare(self, item: WorkItem) -> Path:
        """Create the run directory and its ``run.yaml``; refuse to resume a different run."""
        directory = item.target.directory(self.output)
        if directory in self._settings:
            return directory
        record = self._record(item, self._model(item.target.config))
        path = directory / RUN_FILE
        if path.is_file() and not self.overwrite:
            changed = read_run_record(path).differences(record)
            if changed:
                raise UserError(
                    f"{directory}: holds results of a different run ({', '.join(changed)} differ); "
                    "use --overwrite to replace them or another --output"
                )
        directory.mkdir(parents=True, exist_ok=True)
        write_run_record(path, record)
        self._settings[directory] = record.settings_digest()
        return directory

    def prepare(self, items: list[WorkItem]) -> None:
        """Load every model and create every run directory up front, so that missing weights or a
        clash with an earlier, different run stop the command before any video is processed.

        Temporary folders that killed runs left for these videos are removed (other shards' videos
        are not touched: they may be in progress)."""
        for item in items:
            directory = self._prepare(item)
            for stale in directory.glob(f"{_TEMP_PREFIX}{glob.escape(item.video)}.*"):
                shutil.rmtree(stale, ignore_errors=True)

    # -- one video ------------------------------------------------------------------------

    def run(self, items: list[WorkItem]) -> Iterator[Event]:
        """Process the items in order; failures end the run unless ``keep_going``.

        Bad input, disk errors and running out of memory fail the video with a one-line reason;
        with ``keep_going`` any other error of one video does too (bugs included: the traceback
        goes to ``failed.json``), so that a long sweep finishes the videos it can.
        """
        for item in items:
            directory = self._prepare(item)
            started = time.perf_counter()
            temporary = directory / f"{_TEMP_PREFIX}{item.video}.{os.getpid()}"
            try:
                video = item.dataset.video(item.video)
                stamp = self._stamp(directory, video)
                if self._finished(directory, video.name, stamp):
                    yield VideoFinished(item, "skipped")
                    continue
                yield from self._process(item, video, stamp, temporary)
            except BaseException as error:
                shutil.rmtree(temporary, ignore_errors=True)
                message = self._failure(error)
                if message is None:
                    raise
                _note_failure(directory, item.video, _failure_entry(error, message))
                yield VideoFinished(item, "failed", time.perf_counter() - started, message)
                if not self.keep_going:
                    return
                continue
            _note_failure(directory, item.video, None)
            yield VideoFinished(item, "done", time.perf_counter() - started)

    def _failure(self, error: BaseException) -> str | None:
        """The one-line reason a video failed, or None when the error must stop the command."""
        if isinstance(error, UserError):
            return str(error)
        if isinstance(error, OSError):
            return describe_os_error(error)
        if isinstance(error, RuntimeError) and _out_of_memory(error):
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            need = _allocation(error)
            return f"out of memory on {self.device} ({need}); lower --resolution or use more memory"
        if isinstance(error, Exception) and self.keep_going:
            return f"{type(error).__name__}: {_first_line(error)} (traceback in failed.json)"
        return None

    def _stamp(self, directory: Path, video: VOSVideo) -> VideoStamp:
        return VideoStamp(video.input_digest(), self._settings[directory], len(video.output_indices()))

    def _finished(self, directory: Path, video: str, stamp: VideoStamp) -> bool:
        """A video's folder counts as done only when it was made from these inputs and settings."""
        if not (directory / video).is_dir() or self.overwrite:
            return False
        previous = read_video_stamp(directory, video)
        reason = (
            "its log is missing or from an older ttvos" if previous is None else previous.made_like(stamp)
        )
        if reason is None:
            return True
        logger.warning("%s: %s; segmenting it again", directory / video, reason)
        return False

    def _process(
        self, item: WorkItem, video: VOSVideo, stamp: VideoStamp, temporary: Path
    ) -> Iterator[Event]:
        target, config = item.target, item.target.config
        model = self._model(config)
        directory = self._prepare(item)
        timings = {"start": time.perf_counter()}
        settings = config.inference
        loaded = load_video(
            video, settings.resolution, antialias=settings.antialias, interpolation=settings.interpolation
        )
        logger.debug(
            "%s: %d frames of %s, working size %s, %d objects, %d TTT steps",
            video.name,
            len(video.frames),
            "x".join(map(str, loaded.frames.original_size[::-1])),
            "x".join(map(str, loaded.frames.size[::-1])),
            loaded.num_objects,
            config.ttt.total_steps,
        )
        outputs = video.output_indices()
        yield VideoStarted(item, len(video.frames), len(outputs), config.ttt.total_steps)
        timings["loaded"] = time.perf_counter()
        steps = []
        draws = self.replay.for_video(item.video) if self.replay and config.ttt.enabled else None
        for step in model.trainer.adapt(loaded, config, target.seed, draws=draws):
            steps.append(step)
            yield StepDone(item, step)
        timings["adapted"] = time.perf_counter()
        temporary.mkdir(parents=True)
        wanted = set(outputs)
        with MaskWriter() as writer:  # PNGs are encoded while the next frame is segmented
            for mask in segment_video(model.network, loaded, config.inference, amp=config.amp):
                if mask.index in wanted:
                    writer.write(temporary / video.output_name(mask.index), loaded.to_file_ids(mask.labels))
                    yield FrameWritten(item, mask.index)
        timings["segmented"] = time.perf_counter()
        self._write_log(
            directory,
            item,
            loaded.frames.original_size,
            loaded.frames.size,
            loaded.num_objects,
            steps,
            timings,
            stamp,
        )
        final = directory / item.video
        if final.exists():  # --overwrite: replace the old result as late as possible
            shutil.rmtree(final)
        temporary.rename(final)

    def _write_log(
        self,
        directory: Path,
        item: WorkItem,
        size: tuple[int, int],
        working_size: tuple[int, int],
        objects: int,
        steps: list[StepLog],
        timings: dict[str, float],
        stamp: VideoStamp,
    ) -> None:
        log = {
            "video": item.video,
            "seed": item.target.seed,
            "video_seed": video_seed(item.target.seed, item.video),
            "size": list(size),
            "working_size": list(working_size),
            "objects": objects,
            "inputs": stamp.inputs,
            "settings": stamp.settings,
            "outputs": stamp.outputs,
            "device": str(self.device),
            "loss": item.target.config.ttt.loss,
            "replay": None if self.replay is None else str(self.replay.path),
            "steps": [
                {
                    "jump_step": s.jump_step,
                    "stage": s.stage,
                    "iteration": s.iteration,
                    "loss": s.loss,
                    "frames": [list(f) for f in s.frames],
                    "draws": [draw_record(d) for d in s.draws],
                }
                for s in steps
            ],
            "seconds": {
                "load": timings["loaded"] - timings["start"],
                "ttt": timings["adapted"] - timings["loaded"],
                "inference": timings["segmented"] - timings["adapted"],
                "total": timings["segmented"] - timings["start"],
            },
        }
        logs = directory / LOG_DIR
        logs.mkdir(exist_ok=True)
        write_text_atomic(logs / f"{item.video}.json", json.dumps(log, indent=1))

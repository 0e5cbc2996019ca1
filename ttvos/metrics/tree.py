"""Evaluating every run directory of a results tree, in parallel, with a per-sequence cache.

A run directory is one written by ``ttvos run`` (it holds ``run.yaml``), or any folder of
``<sequence>/<frame>.png`` evaluated against an explicit ground truth. Per-frame J and F of each
sequence are cached in ``<run>/evaluation.json`` together with a fingerprint of the prediction and
ground-truth files (names, sizes, modification times): unchanged sequences are not evaluated again.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ttvos.data.io import DataError
from ttvos.errors import describe_os_error
from ttvos.metrics.jf import DecayMode
from ttvos.metrics.sequences import (
    GroundTruth,
    SequenceScores,
    Summary,
    evaluate_sequence,
    summarize,
    write_official_csvs,
)
from ttvos.paths import write_text_atomic
from ttvos.records import RUN_FILE, RecordError, read_run_record, read_video_stamp

CACHE_FILE = "evaluation.json"
logger = logging.getLogger(__name__)
_CACHE_VERSION = 1
EVALUABLE = ("davis", "davis-c")  # datasets whose ground truth is public (DAVIS 2017 val)


@dataclass(frozen=True)
class RunInfo:
    """A run directory and what it holds."""

    directory: Path
    dataset: str
    config: str
    seed: int | None = None
    corruption: str | None = None
    level: str | None = None
    loss: str = "none"
    weights: str = ""
    settings: str | None = None  # RunRecord.settings_digest(); None for a plain results folder
    standin: bool = False  # made with the untrained stand-in weights

    def is_stale(self, sequence: str) -> bool:
        """True when the sequence's masks were made with other settings than run.yaml's (the
        leftovers of an interrupted --overwrite): they must not be mixed into this run's scores."""
        if self.settings is None:
            return False
        stamp = read_video_stamp(self.directory, sequence)
        return stamp is not None and stamp.settings != self.settings

    @property
    def group(self) -> tuple[str, str | None, str | None, str]:
        return self.dataset, self.corruption, self.level, self.config


@dataclass(frozen=True)
class SkippedRun:
    """A run directory that is not evaluated, and why."""

    directory: Path
    reason: str
    failed: bool = False  # unreadable (a failure), rather than without public ground truth


def find_runs(root: Path) -> tuple[list[RunInfo], list[SkippedRun]]:
    """Every run directory below ``root`` (``root`` itself included), sorted by path, and the run
    directories whose ``run.yaml`` cannot be read, with the reason (the others are still evaluated)."""
    runs, unreadable = [], []
    for record_file in sorted(root.rglob(RUN_FILE)):
        try:
            record = read_run_record(record_file)
        except RecordError as error:
            unreadable.append(SkippedRun(record_file.parent, str(error), failed=True))
            continue
        runs.append(
            RunInfo(
                record_file.parent,
                record.dataset,
                record.config_name or record_file.parent.parent.name,
                record.seed,
                record.corruption,
                record.level,
                record.loss,
                record.weights,
                record.settings_digest(),
                record.standin,
            )
        )
    return runs, unreadable


def ground_truth_for(run: RunInfo, data_root: Path) -> GroundTruth | None:
    """DAVIS val for DAVIS and DAVIS-C runs; None for benchmarks without public ground truth."""
    if run.dataset not in EVALUABLE:
        return None
    return GroundTruth(data_root / "DAVIS" / "2017" / "trainval", "val")


def plan_evaluation(
    results: Path, data_root: Path, gt: GroundTruth | None = None
) -> tuple[list[tuple[RunInfo, GroundTruth]], list[SkippedRun]]:
    """Runs to evaluate (with their ground truth) and run directories that cannot be, with the reason.

    ``gt`` replaces the ground truth of every run; a folder without any ``run.yaml`` is evaluated
    as one plain results folder (``<sequence>/<frame>.png``) against ``gt``.
    """
    if not results.is_dir():
        raise DataError(f"{results}: results folder not found")
    runs, skipped = find_runs(results)
    if not runs and not skipped:
        if gt is None:
            raise DataError(
                f"{results}: no run.yaml below it; to evaluate a plain results folder give --gt DAVIS_ROOT"
            )
        return [(RunInfo(results, "davis", results.name), gt)], []
    planned = []
    for run in runs:
        truth = gt or ground_truth_for(run, data_root)
        if truth is None:
            reason = f"no public ground truth for {run.dataset}: use `ttvos evaluate --pack {run.directory}`"
            skipped.append(SkippedRun(run.directory, reason))
        else:
            planned.append((run, truth))
    return planned, skipped


def _fingerprint(*folders: Path) -> str:
    digest = hashlib.sha1()
    for folder in folders:
        for path in sorted(folder.glob("*.png")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


@dataclass
class RunEvaluation:
    """The outcome for one run: its summary, or why it has none."""

    run: RunInfo
    summary: Summary | None = None
    evaluated: int = 0  # sequences computed now
    cached: int = 0  # sequences taken from the cache
    missing: list[str] = field(default_factory=list)  # sequences without (current) predictions
    stale: list[str] = field(default_factory=list)  # those of them made with other settings
    error: str | None = None

    @property
    def partial(self) -> bool:
        return bool(self.missing) and self.summary is not None


@dataclass(frozen=True)
class SequenceDone:
    """Progress: one sequence of one run evaluated (or read from the cache)."""

    run: RunInfo
    sequence: str
    cached: bool


@dataclass(frozen=True)
class _Task:
    run_index: int
    truth: GroundTruth
    predictions: Path
    sequence: str
    fingerprint: str


def _evaluate(task: _Task) -> tuple[_Task, SequenceScores]:
    return task, evaluate_sequence(task.truth, task.predictions, task.sequence)


def _load_cache(run: RunInfo) -> dict:
    """The cached entries of a run; an unreadable cache is ignored (with a warning) and rebuilt."""
    path = run.directory / CACHE_FILE
    if not path.is_file():
        return {}
    try:
        cache = json.loads(path.read_text())
        if cache.get("version") == _CACHE_VERSION and isinstance(cache["sequences"], dict):
            return cache["sequences"]
    except (OSError, ValueError, AttributeError, KeyError) as error:
        logger.warning("%s: unreadable cache (%s); evaluating its sequences again", path, error)
    return {}


def _save_cache(run: RunInfo, scores: dict[str, tuple[str, SequenceScores]]) -> None:
    entries = {
        name: {
            "fingerprint": fp,
            "frames": s.frames,
            "height": s.height,
            "width": s.width,
            "J": s.j.tolist(),
            "F": s.f.tolist(),
        }
        for name, (fp, s) in scores.items()
    }
    write_text_atomic(
        run.directory / CACHE_FILE, json.dumps({"version": _CACHE_VERSION, "sequences": entries})
    )


def _from_cache(name: str, entry: object, fingerprint: str) -> SequenceScores | None:
    """The cached scores when the entry is well formed and its files are unchanged, else None."""
    if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
        return None
    try:
        objects = len(entry["J"])
        j = np.array(entry["J"], dtype=np.float64).reshape(objects, -1)
        f = np.array(entry["F"], dtype=np.float64).reshape(objects, -1)
        if j.shape != f.shape or j.shape[1] != len(entry["frames"]):
            return None
        return SequenceScores(name, list(entry["frames"]), j, f, int(entry["height"]), int(entry["width"]))
    except (KeyError, TypeError, ValueError):
        return None


class TreeEvaluation:
    """Evaluates runs against their ground truth; ``outcomes`` is complete once ``run()`` is exhausted.

    Incomplete runs (sequences without predictions) are skipped unless ``allow_partial``; the
    official CSV files are written into every fully evaluated run directory.
    """

    def __init__(
        self,
        runs: list[tuple[RunInfo, GroundTruth]],
        *,
        workers: int = 1,
        decay: DecayMode = "intended",
        allow_partial: bool = False,
    ) -> None:
        self.runs = runs
        self.workers = workers
        self.decay = decay
        self.allow_partial = allow_partial
        self.outcomes = [RunEvaluation(run) for run, _ in runs]
        self._sequences: list[list[str]] = []
        for outcome, (run, truth) in zip(self.outcomes, runs, strict=True):
            try:
                sequences = truth.sequences()
            except DataError as error:
                outcome.error, sequences = str(error), []
            outcome.stale = [s for s in sequences if (run.directory / s).is_dir() and run.is_stale(s)]
            outcome.missing = [s for s in sequences if not (run.directory / s).is_dir() or s in outcome.stale]
            skip = outcome.missing and not allow_partial
            self._sequences.append([] if skip else [s for s in sequences if s not in outcome.missing])

    @property
    def total(self) -> int:
        """Sequences to evaluate or to read from the cache."""
        return sum(len(s) for s in self._sequences)

    def run(self) -> Iterator[SequenceDone]:
        """Evaluate (or read from the cache) every sequence, yielding after each one."""
        scores: list[dict[str, tuple[str, SequenceScores]]] = [{} for _ in self.runs]
        tasks: list[_Task] = []
        for index, ((run, truth), sequences) in enumerate(zip(self.runs, self._sequences, strict=True)):
            cache = _load_cache(run) if sequences else {}
            for sequence in sequences:
                fingerprint = _fingerprint(run.directory / sequence, truth.annotations / sequence)
                cached = _from_cache(sequence, cache.get(sequence), fingerprint)
                if cached is not None:
                    scores[index][sequence] = (fingerprint, cached)
                    self.outcomes[index].cached += 1
                    yield SequenceDone(run, sequence, cached=True)
                else:
                    tasks.append(_Task(index, truth, run.directory, sequence, fingerprint))
        for task, result in _run_tasks(tasks, self.workers):
            outcome = self.outcomes[task.run_index]
            if isinstance(result, DataError):
                outcome.error = outcome.error or str(result)
            else:
                scores[task.run_index][task.sequence] = (task.fingerprint, result)
                outcome.evaluated += 1
            yield SequenceDone(self.runs[task.run_index][0], task.sequence, cached=False)
        for index, (run, truth) in enumerate(self.runs):
            outcome = self.outcomes[index]
            if outcome.error is not None or not self._sequences[index]:
                continue
            summary = summarize([scores[index][s][1] for s in self._sequences[index]], self.decay)
            try:
                _save_cache(run, scores[index])
                if not outcome.missing:
                    write_official_csvs(run.directory, summary, truth.set_name)
            except OSError as error:  # a read-only or full results folder fails this run only
                outcome.error = describe_os_error(error)
                continue
            outcome.summary = summary


def _run_tasks(tasks: list[_Task], workers: int) -> Iterator[tuple[_Task, SequenceScores | DataError]]:
    """Evaluate sequences in this process (1 worker) or in a process pool; a bad file fails its run."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            try:
                yield _evaluate(task)
            except DataError as error:
                yield task, error
        return
    with worker_pool(workers) as pool:
        futures = {pool.submit(_evaluate, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except DataError as error:
                yield futures[future], error


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers exit when this process dies, however it dies (kill -9 too):
    otherwise a killed ``ttvos evaluate`` leaves its workers computing for nobody."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),))


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux") and os.getppid() == parent:
        try:  # the kernel kills this worker when its parent exits (PR_SET_PDEATHSIG = 1)
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent, os.getppid()), daemon=True).start()


def _watch_parent(parent: int, launcher: int) -> None:
    """Elsewhere (or with a fork server between us): exit once the evaluating process is gone or
    this worker was re-parented (its parent died, even if not yet reaped)."""
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        if os.getppid() != launcher:
            os._exit(1)
        time.sleep(1.0)

"""What a run directory records besides its masks: ``run.yaml`` and the identity part of each video log.

One typed record per file format, used by the writer (``runner``) and every reader (``evaluate``,
``--pack``), so the schema lives in one place. Importing this module is cheap (no torch): evaluate
workers read these records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ttvos.errors import UserError
from ttvos.paths import write_text_atomic

RUN_FILE = "run.yaml"
LOG_DIR = "logs"
FAILED_FILE = "failed.json"  # the videos that failed, with the reason (see update_failures)


class RecordError(UserError):
    """A run.yaml or video log that cannot be read (corrupt, truncated, hand-edited)."""


@dataclass(frozen=True)
class RunRecord:
    """``run.yaml``: enough to reproduce a run and to refuse mixing two different runs.

    The *settings* (dataset, corruption, level, seed, config, weights hash) decide the results;
    the other fields describe where and how the run was made.
    """

    dataset: str
    corruption: str | None = None
    level: str | None = None
    seed: int | None = None
    config: dict[str, Any] = field(default_factory=dict)  # as ``config_to_dict`` writes it
    model: dict[str, str | None] = field(default_factory=dict)  # weights, path, sha256
    versions: dict[str, str | None] = field(default_factory=dict)
    videos: list[str] = field(default_factory=list)  # every video of the source: a complete run has all
    notes: list[str] = field(default_factory=list)  # departures from the benchmark's setting (Dataset.notes)
    replay_draws: str | None = None  # digest of the replayed frame draws (--replay-draws); None: random draws
    # Where and how it was (last) started; recorded, never compared:
    data_root: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # --frames / --mask of your own videos
    device: str | None = None
    command: str | None = None  # the command line as typed
    date: str | None = None  # ISO 8601, UTC
    how_to_replay: str | None = None  # what reproduces this run's masks from its own logs

    @property
    def config_name(self) -> str:
        return str(self.config.get("name", ""))

    @property
    def loss(self) -> str:
        return str((self.config.get("ttt") or {}).get("loss", "none"))

    @property
    def weights(self) -> str:
        return str(self.config.get("weights", ""))

    @property
    def standin(self) -> bool:
        """Made with the untrained stand-in weights (no checkpoint file, hence no hash): its
        numbers show that the pipeline runs, not how well it segments."""
        return bool(self.model) and self.model.get("sha256") is None

    def settings(self) -> dict[str, Any]:
        """What decides the results (a change means the masks of one run differ from another's)."""
        return {
            "dataset": self.dataset,
            "corruption": self.corruption,
            "level": self.level,
            "seed": self.seed,
            "config": self.config,
            "weights": self.model.get("sha256"),
            "replay_draws": self.replay_draws,
        }

    def settings_digest(self) -> str:
        """A short hash of :meth:`settings`, stamped on every video made with them."""
        text = json.dumps(self.settings(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def differences(self, other: RunRecord) -> list[str]:
        """Names of the settings that differ between two records."""
        mine, theirs = self.settings(), other.settings()
        return [key for key in mine if mine[key] != theirs[key]]


def run_record_from_dict(data: Any, source: Path) -> RunRecord:
    """Check a mapping read from ``run.yaml``; a malformed one is a one-line :class:`RecordError`."""
    hint = "delete it (or use --overwrite) to start this run afresh"
    if not isinstance(data, dict):
        raise RecordError(f"{source}: not a run record (expected a YAML mapping); {hint}")
    if not isinstance(data.get("dataset"), str) or not isinstance(data.get("config"), dict):
        raise RecordError(f"{source}: run record without 'dataset' or 'config'; {hint}")
    known = {k: data[k] for k in RunRecord.__dataclass_fields__ if k in data}
    for key, kind in (
        ("model", dict),
        ("versions", dict),
        ("videos", list),
        ("notes", list),
        ("inputs", dict),
    ):
        if not isinstance(known.get(key, kind()), kind):
            raise RecordError(f"{source}: '{key}' is not a {'mapping' if kind is dict else 'list'}; {hint}")
    return RunRecord(**known)


def read_run_record(path: Path) -> RunRecord:
    """Read ``run.yaml``; unreadable or malformed files raise a one-line :class:`RecordError`."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RecordError(
            f"{path}: unreadable run record ({first}); delete it (or use --overwrite) to start afresh"
        ) from None
    return run_record_from_dict(data, path)


def write_run_record(path: Path, record: RunRecord) -> Path:
    return write_text_atomic(path, yaml.safe_dump(asdict(record), sort_keys=False))


@dataclass(frozen=True)
class Provenance:
    """What the command line adds to a run's record: where the data came from and how it was asked."""

    data_root: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    command: str | None = None


@dataclass(frozen=True)
class VideoStamp:
    """What one video's masks were made from, written into ``logs/<video>.json``: a finished video
    counts as done only while its stamp equals the one the current run would give it."""

    inputs: str  # VOSVideo.input_digest(): frame and mask files, names and contents
    settings: str  # RunRecord.settings_digest() of the run that wrote the masks
    outputs: int  # PNG files written

    def made_like(self, other: VideoStamp) -> str | None:
        """Why masks stamped ``self`` are not what ``other`` would give (None: they are)."""
        if self.inputs != other.inputs:
            return "its frames or masks changed since it was segmented"
        if self.settings != other.settings:
            return "it was segmented with settings other than run.yaml's (an interrupted --overwrite?)"
        return None


def video_log_path(run_dir: Path, video: str) -> Path:
    return run_dir / LOG_DIR / f"{video}.json"


def read_video_stamp(run_dir: Path, video: str) -> VideoStamp | None:
    """The stamp in a video's log; None when the log is missing, unreadable or has none (older ttvos)."""
    try:
        data = json.loads(video_log_path(run_dir, video).read_text())
        return VideoStamp(str(data["inputs"]), str(data["settings"]), int(data["outputs"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def update_failures(run_dir: Path, video: str, failure: dict[str, str] | None) -> None:
    """Record (or, with None, clear) a video's failure in ``failed.json``: what went wrong, for the
    videos a --keep-going sweep left behind. Shards of one run share the file, hence the lock."""
    path = run_dir / FAILED_FILE
    if failure is None and not path.exists():
        return
    with _locked(run_dir / f".{FAILED_FILE}.lock"):
        try:
            failures = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            failures = {}  # unreadable: start again rather than fail the video a second time
        if not isinstance(failures, dict):
            failures = {}
        if failure is None:
            failures.pop(video, None)
        else:
            failures[video] = failure
        if failures:
            write_text_atomic(path, json.dumps(failures, indent=1, sort_keys=True))
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX); elsewhere no lock (shards then rarely lose an entry)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

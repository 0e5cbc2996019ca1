"""Replayed frame draws: train on recorded sequences instead of drawing them.

A replay file gives, per video, the draws of every training sequence in training order: Adam steps
in schedule order (rounds, stages, steps) and, within a step of ``batch_size`` sequences, the
sequences in the order they were drawn. Three forms are read:

* JSON ``{"<video>": [[f0, f1, f2], ...], ...}``: the frames of each sequence (trial 1 each);
* a per-video log ``<run>/logs/<video>.json`` of ``ttvos run``;
* a run folder (every ``logs/*.json`` in it).

A log records, for every sequence, the frames its last trial drew (before the reference's
fallback) and that trial's number, so replaying a run's own folder rebuilds every sequence, objects
and augmentation included (with the same seed: see :mod:`ttvos.ttt.sampler`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttvos.errors import UserError
from ttvos.ttt.sampler import TRIAL_LIMIT, Draw, SequenceSampler

_LOGS = "logs"  # where a run folder keeps its per-video logs (ttvos.runner's layout)


def draw_record(draw: Draw) -> dict[str, Any]:
    """A draw as a per-video log stores it (``steps[].draws[]``)."""
    return {"frames": list(draw.frames), "trial": draw.trial}


class ReplayedDraws:
    """One video's recorded draws, handed out in order (a :class:`~ttvos.ttt.sampler.FrameDraws`).

    Every trial of a sequence reuses its recorded frames, starting at its recorded trial: given
    fixed frames, the reference too retries only the object choice and the augmentation.
    """

    def __init__(self, video: str, draws: list[Draw], source: str) -> None:
        self.video = video
        self.draws = draws
        self.source = source
        self._next = 0

    def check(self, num_frames: int, annotated_frames: list[int], lengths: list[int]) -> None:
        """Refuse draws that do not fit the video or the schedule (``lengths``: seq_len per sequence)."""
        where = f"{self.source}: video {self.video!r}"
        if len(self.draws) != len(lengths):
            raise UserError(
                f"{where} has {len(self.draws)} draws but the schedule trains on {len(lengths)} sequences "
                "(jump_steps x stages x iters_per_jump x batch_size); were they recorded with another config?"
            )
        for number, (draw, length) in enumerate(zip(self.draws, lengths, strict=True), start=1):
            if len(draw.frames) != length:
                raise UserError(
                    f"{where}: draw {number} has {len(draw.frames)} frames, its stage trains on "
                    f"sequences of {length} (seq_len)"
                )
            outside = [f for f in draw.frames if not 0 <= f < num_frames]
            if outside:
                raise UserError(
                    f"{where}: draw {number} names frame {outside[0]}, the video has {num_frames} frames "
                    f"(0..{num_frames - 1})"
                )
            if draw.frames[0] not in annotated_frames:
                raise UserError(
                    f"{where}: draw {number} starts at frame {draw.frames[0]}, which is not annotated "
                    f"(annotated: {', '.join(map(str, annotated_frames))})"
                )
            if not 1 <= draw.trial <= TRIAL_LIMIT:
                raise UserError(f"{where}: draw {number} has trial {draw.trial}, not in 1..{TRIAL_LIMIT}")

    def start(self, num_frames: int, annotated_frames: list[int], lengths: list[int]) -> None:
        self.check(num_frames, annotated_frames, lengths)
        self._next = 0

    def trials(self, sampler: SequenceSampler, max_jump: int, seq_len: int) -> Iterator[Draw]:
        draw = self.draws[self._next]  # start() checked that the schedule has one for every sequence
        self._next += 1
        for trial in range(draw.trial, TRIAL_LIMIT + 1):
            yield Draw(draw.frames, trial)


@dataclass(frozen=True)
class ReplayFile:
    """The draws of every video of a replay file (see the module docstring for the forms)."""

    source: str  # as the user gave it, for messages
    path: Path  # absolute, for the records
    videos: dict[str, list[Draw]]

    @property
    def digest(self) -> str:
        """A short hash of every draw: results depend on it, so a run records it among its settings."""
        draws = {
            video: [[list(d.frames), d.trial] for d in draws] for video, draws in sorted(self.videos.items())
        }
        return hashlib.sha256(json.dumps(draws, sort_keys=True).encode()).hexdigest()[:16]

    def for_video(self, video: str) -> ReplayedDraws:
        if video not in self.videos:
            known = ", ".join(sorted(self.videos)[:5]) + (", ..." if len(self.videos) > 5 else "")
            raise UserError(f"{self.source}: no draws for video {video!r} (it has: {known or 'none'})")
        return ReplayedDraws(video, self.videos[video], self.source)


def load_replay(path: Path) -> ReplayFile:
    """Read a replay file, a per-video log or a run folder; one-line errors for anything else."""
    source = str(path)
    if path.is_dir():
        logs = sorted((path / _LOGS).glob("*.json"))
        if not logs:
            raise UserError(f"{source}: a folder without {_LOGS}/*.json, not a ttvos run folder")
        videos = dict(_log_draws(_read_json(log), str(log)) for log in logs)
        return ReplayFile(source, path.resolve(), videos)
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("video"), str) and "steps" in data:
        return ReplayFile(source, path.resolve(), dict([_log_draws(data, source)]))
    if not isinstance(data, dict) or not data:
        raise UserError(
            f'{source}: expected {{"<video>": [[f0, f1, ...], ...]}}, a per-video log or a run folder'
        )
    videos = {video: _frame_lists(lists, f"{source}: {video}") for video, lists in data.items()}
    return ReplayFile(source, path.resolve(), videos)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: replay file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: unreadable ({error})") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None


def _frames(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(type(f) is int for f in value):
        raise UserError(f"{where}: a draw must be a non-empty list of frame indices, got {value!r}")
    return tuple(value)


def _frame_lists(lists: Any, where: str) -> list[Draw]:
    if not isinstance(lists, list):
        raise UserError(f"{where}: expected a list of draws ([[f0, f1, ...], ...])")
    return [Draw(_frames(frames, where)) for frames in lists]


def _log_draws(log: Any, where: str) -> tuple[str, list[Draw]]:
    """A log's draws; logs written before draws were recorded give each sequence's frames."""
    try:
        video, steps = log["video"], log["steps"]
        if all("draws" in step for step in steps):
            return video, [
                Draw(_frames(d["frames"], where), int(d["trial"])) for step in steps for d in step["draws"]
            ]
        return video, [Draw(_frames(frames, where)) for step in steps for frames in step["frames"]]
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"{where}: not a ttvos per-video log ({error!r} in steps)") from None

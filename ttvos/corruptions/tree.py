"""Corrupt a whole dataset into a DAVIS-C tree, resumably: the core of ``ttvos corrupt``.

``--output ROOT`` is a data root, as ``ttvos run --data-root`` takes it: frames go to
``ROOT/DAVIS-C/<level>/<corruption>/<video>/<frame>.jpg`` and, when the source is a DAVIS tree,
``ROOT/DAVIS/2017/trainval`` is linked to it (or its annotations and split files copied where
links are impossible), so that ``ttvos run --dataset davis-c --data-root ROOT`` and
``ttvos evaluate`` need nothing else. Each video of each corruption and level is one output,
written into a temporary folder renamed when complete: a killed run leaves no half-written video,
and a new run skips the finished ones and removes the stale temporary folders.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from ttvos.corruptions.compression import crf_compression_jpegs
from ttvos.corruptions.levels import LEVELS
from ttvos.corruptions.registry import CORRUPTIONS, corrupt_video, video_seed
from ttvos.data.io import FRAME_SUFFIXES, list_frames, read_frame
from ttvos.errors import UserError

log = logging.getLogger(__name__)

ImageFormat = Literal["jpg", "png"]
JPEG_QUALITY = 95  # what cv2.imwrite wrote for DAVIS-C (4:2:0): the files are byte-identical
TEMP_PREFIX = ".tmp-"
SETTINGS_FILE = ".ttvos-corrupt.json"


@dataclass(frozen=True)
class SourceVideo:
    """One input video: its name and its frame files in order."""

    name: str
    frames: tuple[Path, ...]


@dataclass(frozen=True)
class Settings:
    """What decides the pixels of a tree; a tree is only ever resumed with the same settings."""

    seed: int = 0
    faithful: bool = True
    image_format: ImageFormat = "jpg"


@dataclass(frozen=True)
class CorruptRequest:
    """What ``ttvos corrupt`` was asked (names not yet checked)."""

    source: Path
    output: Path | None = None  # default: the source when it is a data root holding DAVIS/
    corruptions: tuple[str, ...] = ("all",)
    levels: tuple[str, ...] = ("all",)
    videos: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class CorruptTask:
    """One output folder: a video under one corruption at one level."""

    video: SourceVideo
    corruption: str
    level: str
    folder: Path


@dataclass(frozen=True)
class CorruptPlan:
    """A checked request: the outputs to make and what was left out, and why."""

    output: Path
    settings: Settings
    tasks: list[CorruptTask]
    finished: list[CorruptTask]  # made by an earlier run: skipped
    unavailable: dict[str, str]  # corruption -> one-line reason (skipped, not faked)
    annotations: str | None  # how ROOT/DAVIS was provided, for the summary


@dataclass(frozen=True)
class OutputWritten:
    """Event: one output folder is complete."""

    task: CorruptTask
    seconds: float


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def select(
    corruptions: tuple[str, ...], levels: tuple[str, ...]
) -> tuple[list[str], list[str], dict[str, str]]:
    """Names and levels to make, and the unavailable types that ``all`` leaves out.

    An unknown name, or a type named explicitly that cannot be made, is a one-line error; so is
    a type that only misses an optional dependency, even under ``all`` (install the extra).
    """
    names, chosen = _split(corruptions), _split(levels)
    for name in names:
        if name != "all" and name not in CORRUPTIONS:
            raise UserError(
                f"--corruption: unknown corruption {name!r}; valid: all, {', '.join(CORRUPTIONS)}"
            )
    for level in chosen:
        if level != "all" and level not in LEVELS:
            raise UserError(f"--level: unknown level {level!r}; valid: all, {', '.join(LEVELS)}")
    explicit = [n for n in names if n != "all"]
    wanted = [n for n in CORRUPTIONS if "all" in names or n in explicit]
    unavailable: dict[str, str] = {}
    for name in wanted:
        corruption = CORRUPTIONS[name]  # type: ignore[index]
        reason = corruption.problem() or (corruption.unavailable if name in explicit else None)
        if reason:
            raise UserError(reason)
        if corruption.unavailable:
            unavailable[name] = corruption.unavailable
    level_list = [lv for lv in LEVELS if "all" in chosen or lv in chosen]
    if not names or not level_list:
        raise UserError("nothing selected: give --corruption and --level (or all)")
    return [n for n in wanted if n not in unavailable], level_list, unavailable


def _davis_split(trainval: Path) -> list[str]:
    lines = (trainval / "ImageSets" / "2017" / "val.txt").read_text().splitlines()
    return sorted({line.strip().split("/")[-1] for line in lines if line.strip()})


def find_videos(source: Path) -> tuple[list[SourceVideo], Path | None]:
    """The videos of ``source`` and, for a DAVIS tree, its ``trainval`` folder.

    ``source`` is a data root holding ``DAVIS/2017/trainval`` (the val split is corrupted, as for
    DAVIS-C), a ``trainval`` folder itself, a folder of frame folders, or one frame folder.
    """
    if not source.is_dir():
        raise UserError(
            f"{source}: --source not found (a DAVIS data root, a folder of frame folders or of frames)"
        )
    for trainval in (source / "DAVIS" / "2017" / "trainval", source):
        if (trainval / "ImageSets" / "2017" / "val.txt").is_file() and (trainval / "JPEGImages").is_dir():
            frames = trainval / "JPEGImages" / "480p"
            return [SourceVideo(v, tuple(list_frames(frames / v))) for v in _davis_split(trainval)], trainval
    if any(p.suffix.lower() in FRAME_SUFFIXES for p in source.iterdir()):
        return [SourceVideo(source.name, tuple(list_frames(source)))], None
    folders = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise UserError(f"{source}: no DAVIS tree, frame folders or frames in --source")
    return [SourceVideo(p.name, tuple(list_frames(p))) for p in folders], None


def _link_annotations(output: Path, trainval: Path, videos: list[SourceVideo]) -> str:
    """Make ``output/DAVIS/2017/trainval`` the source's (a link, else a copy of the masks)."""
    target = output / "DAVIS" / "2017" / "trainval"
    if target.exists() and target.resolve() == trainval.resolve():
        return f"annotations: {target}"
    if target.exists() or target.is_symlink():
        for video in videos:
            if not (target / "Annotations" / "480p" / video.name).is_dir():
                raise UserError(
                    f"{target}: exists but has no Annotations/480p/{video.name}; "
                    "remove it or pick another --output"
                )
        return f"annotations: {target} (existing, kept)"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.symlink_to(trainval.resolve(), target_is_directory=True)
        return f"annotations: {target} -> {trainval.resolve()}"
    except OSError:  # no symbolic links here (some Windows set-ups, some file systems)
        shutil.copytree(trainval / "ImageSets", target / "ImageSets")
        for video in videos:
            shutil.copytree(
                trainval / "Annotations" / "480p" / video.name, target / "Annotations" / "480p" / video.name
            )
        return f"annotations: copied to {target}"


def _check_settings(root: Path, settings: Settings) -> None:
    """Refuse to resume a tree made with other settings (it would mix them silently)."""
    path = root / SETTINGS_FILE
    if path.is_file():
        made = Settings(**json.loads(path.read_text()))
        if made != settings:
            raise UserError(
                f"{root} was made with {asdict(made)}, not {asdict(settings)}: "
                "use the same options or another --output"
            )
        return
    root.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(asdict(settings)))
    temporary.replace(path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(folder: Path) -> None:
    """Delete temporary folders left by killed runs (not those of a run still going)."""
    for stale in folder.glob(f"{TEMP_PREFIX}*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and _process_alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)


def prepare_corruption(request: CorruptRequest) -> CorruptPlan:
    """Check the request, link the annotations, and list the outputs still to make."""
    names, levels, unavailable = select(request.corruptions, request.levels)
    videos, trainval = find_videos(request.source)
    wanted = _split(request.videos)
    if wanted:
        known = {v.name for v in videos}
        unknown = [v for v in wanted if v not in known]
        if unknown:
            raise UserError(
                f"--videos: {', '.join(unknown)} not in {request.source}; it has {', '.join(sorted(known))}"
            )
        videos = [v for v in videos if v.name in wanted]
    if request.output is None and (
        trainval is None or trainval != request.source / "DAVIS" / "2017" / "trainval"
    ):
        raise UserError("--output is needed unless --source is a data root holding DAVIS/2017/trainval")
    output = request.output or request.source
    root = output / "DAVIS-C"
    _check_settings(root, request.settings)
    annotations = _link_annotations(output, trainval, videos) if trainval is not None else None
    tasks, finished = [], []
    for level in levels:
        for name in names:
            folder = root / level / name
            folder.mkdir(parents=True, exist_ok=True)
            _remove_stale(folder)
            for video in videos:
                task = CorruptTask(video, name, level, folder / video.name)
                (finished if task.folder.is_dir() else tasks).append(task)
    return CorruptPlan(output, request.settings, tasks, finished, unavailable, annotations)


@lru_cache(maxsize=1)
def _read_video(video: SourceVideo) -> np.ndarray:
    """T*H*W*3 uint8 RGB; the last video is kept, as consecutive outputs often share it."""
    frames = [read_frame(path) for path in video.frames]
    for path, frame in zip(video.frames, frames, strict=True):
        if frame.shape != frames[0].shape:
            raise UserError(
                f"{path}: frame size {frame.shape[1]}x{frame.shape[0]} differs from the video's first frame"
            )
    return np.stack(frames)


def encode_frame(frame: np.ndarray, image_format: ImageFormat) -> bytes:
    """H*W*3 uint8 RGB -> file bytes: JPEG q95 (4:2:0; byte-identical to cv2.imwrite) or PNG."""
    buffer = io.BytesIO()
    if image_format == "jpg":
        Image.fromarray(frame).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def render_video(task: CorruptTask, settings: Settings) -> list[bytes]:
    """The output files of one task, in frame order (crf_compression as JPEG: its MJPEG files)."""
    frames = _read_video(task.video)
    if task.corruption == "crf_compression" and settings.image_format == "jpg":
        return crf_compression_jpegs(frames, task.level)  # type: ignore[arg-type]
    seed = video_seed(settings.seed, task.video.name, task.corruption, task.level)
    out = corrupt_video(frames, task.corruption, task.level, seed=seed, faithful=settings.faithful)  # type: ignore[arg-type]
    return [encode_frame(frame, settings.image_format) for frame in out]


def write_output(task: CorruptTask, settings: Settings) -> OutputWritten:
    """Make one output folder atomically (temporary folder, then rename)."""
    started = time.perf_counter()
    files = render_video(task, settings)
    temporary = task.folder.with_name(f"{TEMP_PREFIX}{task.folder.name}-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    for path, data in zip(task.video.frames, files, strict=True):
        (temporary / f"{path.stem}.{settings.image_format}").write_bytes(data)
    temporary.rename(task.folder)
    return OutputWritten(task, time.perf_counter() - started)


def run_plan(plan: CorruptPlan, *, workers: int = 1) -> Iterator[OutputWritten]:
    """Make the plan's outputs (``workers`` processes), yielding each as it completes.

    The first error stops the run (finished outputs stay; a rerun resumes).
    """
    if workers <= 1 or len(plan.tasks) <= 1:
        for task in plan.tasks:
            yield write_output(task, plan.settings)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        # Submitted in plan order (video after video), so a worker often reuses the frames it read.
        pending: set[Future[OutputWritten]] = set()
        for task in plan.tasks:
            pending.add(pool.submit(write_output, task, plan.settings))
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

"""Benchmark layouts on disk (the official code's canonical layout) and custom input.

Every reader lists its videos cheaply and describes one video as a :class:`VOSVideo` only when
asked, so that a problem in one video (missing frames, say) fails that video alone.
See docs/datasets.md for the expected trees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ttvos import corruptions
from ttvos.data.io import FRAME_SUFFIXES, DataError, list_frames
from ttvos.data.video import VOSVideo
from ttvos.paths import user_folder

DatasetName = Literal["davis", "davis-testdev", "davis-c", "youtube", "mose", "folder"]
DATASETS: tuple[str, ...] = ("davis", "davis-testdev", "davis-c", "youtube", "mose", "folder")
CORRUPTIONS: tuple[str, ...] = tuple(corruptions.CORRUPTIONS)  # DAVIS-C's 14 types, in its order
LEVELS: tuple[str, ...] = corruptions.LEVELS
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def default_data_root() -> Path:
    """``$TTVOS_DATA``, else ``$XDG_DATA_HOME/ttvos/datasets`` (default ``~/.local/share``)."""
    return user_folder("TTVOS_DATA", "XDG_DATA_HOME", "datasets")


@dataclass(frozen=True)
class DatasetSource:
    """What a run reads: a dataset and, for DAVIS-C, a corruption and its level."""

    dataset: str
    corruption: str | None = None
    level: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        """Folder names below the output root: ``davis-c/brightness/med`` or ``davis``."""
        return tuple(p for p in (self.dataset, self.corruption, self.level) if p is not None)

    def __str__(self) -> str:
        return "/".join(self.parts)


def expand_corruptions(patterns: list[str]) -> list[tuple[str, str]]:
    """``NAME/LEVEL``, ``all``, ``NAME/all``, ``all/LEVEL`` -> sorted unique (corruption, level)."""
    pairs: list[tuple[str, str]] = []
    for pattern in patterns:
        name, _, level = pattern.partition("/")
        level = level or "all"
        names = CORRUPTIONS if name == "all" else (name,)
        levels = LEVELS if level == "all" else (level,)
        if name != "all" and name not in CORRUPTIONS:
            raise DataError(
                f"--corruption {pattern}: unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}"
            )
        if level != "all" and level not in LEVELS:
            raise DataError(f"--corruption {pattern}: unknown level {level!r}; use low, med, high or all")
        pairs += [(n, lv) for n in names for lv in levels if (n, lv) not in pairs]
    return pairs


@dataclass(frozen=True)
class Dataset:
    """The videos of one source: ``names`` in processing order, ``video(name)`` to describe one."""

    source: DatasetSource
    names: list[str]
    describe: Callable[[str], VOSVideo]
    notes: tuple[str, ...] = ()  # what departs from the benchmark's usual setting (warned, recorded)

    def video(self, name: str) -> VOSVideo:
        return self.describe(name)


def _split_file(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: split file not found; check --data-root (layouts in docs/datasets.md)")
    return sorted({line.strip().split("/")[-1] for line in path.read_text().splitlines() if line.strip()})


def _consecutive_frames(folder: Path) -> tuple[Path, ...]:
    """The frames of a folder whose files are numbered; a gap in the numbering is a missing frame."""
    frames = list_frames(folder)
    stems = [f.stem for f in frames]
    if all(stem.isdigit() for stem in stems):
        numbers = [int(stem) for stem in stems]
        for expected, (number, frame) in enumerate(zip(numbers, frames, strict=True), start=numbers[0]):
            if number != expected:
                missing = folder / f"{expected:0{len(frame.stem)}d}{frame.suffix}"
                raise DataError(
                    f"{missing}: missing frame (the frames are numbered consecutively); restore it"
                )
    return tuple(frames)


def _first_frame_mask(
    video: str, frames: tuple[Path, ...], mask_dir: Path, *, binary: bool = False
) -> VOSVideo:
    mask = mask_dir / f"{frames[0].stem}.png"
    if not mask.is_file():
        raise DataError(f"{mask}: first-frame mask not found (each video needs the mask of its first frame)")
    return VOSVideo(video, frames, {0: mask}, allow_binary_masks=binary)


def _davis_like(
    root: Path, split: str, frames_root: Path | None = None
) -> tuple[list[str], Callable[[str], VOSVideo]]:
    """DAVIS 2017 trainval/test-dev: ImageSets/2017/<split>.txt, JPEGImages/480p, Annotations/480p."""
    names = _split_file(root / "ImageSets" / "2017" / f"{split}.txt")
    frames_root = frames_root or root / "JPEGImages" / "480p"

    def describe(name: str) -> VOSVideo:
        frames = _consecutive_frames(frames_root / name)
        return _first_frame_mask(name, frames, root / "Annotations" / "480p" / name)

    return names, describe


def _youtube(root: Path) -> tuple[list[str], Callable[[str], VOSVideo]]:
    """YouTube-VOS 2018 valid: annotations at several frames, outputs at the subsampled frames."""
    valid = root / "valid"
    annotations = valid / "Annotations"
    if not annotations.is_dir():
        raise DataError(f"{annotations}: YouTube-VOS annotations not found; check --data-root")
    meta = valid / "meta.json"
    if meta.is_file():
        names = sorted(json.loads(meta.read_text())["videos"])
    else:
        names = sorted(p.name for p in annotations.iterdir() if p.is_dir())
    all_frames = _youtube_all_frames(root)

    def describe(name: str) -> VOSVideo:
        sampled = list_frames(valid / "JPEGImages" / name)
        if all_frames.is_dir() and not (all_frames / name).is_dir():
            raise DataError(
                f"{all_frames / name}: missing from all_frames (the others use it); restore it, or move "
                "all_frames away to run every video on the 6 fps frames"
            )
        frames = _consecutive_frames(all_frames / name) if all_frames.is_dir() else tuple(sampled)
        index = {frame.stem: t for t, frame in enumerate(frames)}
        annotated = {}
        for mask in sorted((annotations / name).glob("*.png")):
            if mask.stem not in index:
                raise DataError(f"{mask}: annotation of a frame that is not among the video's frames")
            annotated[index[mask.stem]] = mask
        if not annotated:
            raise DataError(f"{annotations / name}: no annotation PNG for this video")
        outputs = tuple(index[f.stem] for f in sampled if f.stem in index)
        return VOSVideo(name, frames, annotated, output_frames=outputs)

    return names, describe


def _youtube_all_frames(root: Path) -> Path:
    return root / "all_frames" / "valid_all_frames" / "JPEGImages"


def _youtube_notes(root: Path) -> tuple[str, ...]:
    """Without all_frames the videos are the 6 fps frames: mem_every and max_jump then count
    frames five times further apart than in the paper (30 fps)."""
    if _youtube_all_frames(root).is_dir():
        return ()
    return (
        f"{_youtube_all_frames(root)} not found: segmenting the 6 fps frames of valid/JPEGImages, so "
        "mem_every and max_jump count frames 5x further apart than the paper's 30 fps (docs/datasets.md)",
    )


def _mose(root: Path) -> tuple[list[str], Callable[[str], VOSVideo]]:
    """MOSE valid: JPEGImages/<video>, Annotations/<video>/<first frame>.png."""
    images = root / "valid" / "JPEGImages"
    if not images.is_dir():
        raise DataError(f"{images}: MOSE frames not found; check --data-root")
    names = sorted(p.name for p in images.iterdir() if p.is_dir())

    def describe(name: str) -> VOSVideo:
        return _first_frame_mask(
            name, tuple(list_frames(images / name)), root / "valid" / "Annotations" / name
        )

    return names, describe


def _folder(frames: Path, mask: Path, cache: Path) -> tuple[list[str], Callable[[str], VOSVideo]]:
    """Custom input: a frame folder or a video file with a mask file, or folders of such videos."""
    if not frames.exists():
        raise DataError(f"{frames}: not found (give a folder of frames, a video file, or a folder of videos)")
    if not mask.exists():
        raise DataError(f"{mask}: mask not found (give the first frame's mask, or a folder of masks)")
    if frames.is_file() or any(p.suffix.lower() in FRAME_SUFFIXES for p in frames.iterdir()):
        if not mask.is_file():
            raise DataError(f"{mask}: expected one mask file for the single video {frames}")
        name = frames.stem if frames.is_file() else frames.name

        def describe_one(_: str) -> VOSVideo:
            paths = _video_frames(frames, cache)
            return VOSVideo(name, paths, {0: mask}, allow_binary_masks=True)

        return [name], describe_one

    if not mask.is_dir():
        raise DataError(
            f"{mask}: expected a folder of masks (<video>/<first frame>.png) for the videos in {frames}"
        )
    names = sorted(p.stem if p.is_file() else p.name for p in frames.iterdir() if not p.name.startswith("."))

    def describe(name: str) -> VOSVideo:
        source = frames / name if (frames / name).is_dir() else next(frames.glob(f"{name}.*"))
        paths = _video_frames(source, cache)
        single = mask / f"{name}.png"
        if single.is_file():
            return VOSVideo(name, paths, {0: single}, allow_binary_masks=True)
        return _first_frame_mask(name, paths, mask / name, binary=True)

    return names, describe


def _video_frames(source: Path, cache: Path) -> tuple[Path, ...]:
    if source.is_dir():
        return tuple(list_frames(source))
    if source.suffix.lower() not in VIDEO_SUFFIXES:
        raise DataError(f"{source}: not a frame folder nor a video file ({', '.join(VIDEO_SUFFIXES)})")
    from ttvos.data.video_file import extract_frames

    return tuple(extract_frames(source, cache))


def open_dataset(
    source: DatasetSource,
    data_root: Path,
    *,
    frames: Path | None = None,
    mask: Path | None = None,
    cache: Path,
) -> Dataset:
    """The videos of ``source`` under ``data_root`` (``frames``/``mask`` for ``folder``)."""
    davis = data_root / "DAVIS" / "2017"
    notes: tuple[str, ...] = ()
    if source.dataset == "davis":
        names, describe = _davis_like(davis / "trainval", "val")
    elif source.dataset == "davis-testdev":
        names, describe = _davis_like(davis / "test-dev", "test-dev")
    elif source.dataset == "davis-c":
        assert source.corruption is not None and source.level is not None
        corrupted = data_root / "DAVIS-C" / source.level / source.corruption
        if not corrupted.is_dir():
            raise DataError(f"{corrupted}: DAVIS-C frames not found; check --data-root (docs/datasets.md)")
        names, describe = _davis_like(davis / "trainval", "val", frames_root=corrupted)
    elif source.dataset == "youtube":
        names, describe = _youtube(data_root / "YouTube2018")
        notes = _youtube_notes(data_root / "YouTube2018")
    elif source.dataset == "mose":
        names, describe = _mose(data_root / "MOSE")
    elif source.dataset == "folder":
        if frames is None or mask is None:
            raise DataError(
                "--dataset folder needs --frames (folder, video file or folder of videos) and --mask"
            )
        names, describe = _folder(frames, mask, cache)
    else:
        raise DataError(f"--dataset {source.dataset}: unknown dataset; use one of {', '.join(DATASETS)}")
    return Dataset(source, names, describe, notes)

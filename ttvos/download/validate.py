"""Checks that an unpacked tree is what ``ttvos run`` reads: videos, frames and masks of the release.

Video counts come from the registry (the published releases: DAVIS 2017 val and test-dev 30,
YouTube-VOS 2018 valid 474, MOSE valid 311, DAVIS-C 30 per corruption and level); frame totals
are not published for every release, so frames and masks are checked video by video (frames
present, the masks the benchmark needs present) and counted for the summary, not compared with a
total. Messages name paths relative to the tree, which may still be a temporary folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ttvos.data.datasets import CORRUPTIONS, LEVELS
from ttvos.data.io import FRAME_SUFFIXES, DataError
from ttvos.download.registry import Archive, Layout

_DAVIS_FRAMES = Path("JPEGImages", "480p")
_DAVIS_MASKS = Path("Annotations", "480p")


@dataclass(frozen=True)
class TreeCounts:
    """What a checked tree holds (DAVIS-C: video folders over every corruption and level)."""

    videos: int
    frames: int
    masks: int


class _Tree:
    """Listing helpers that report problems relative to the tree's root."""

    def __init__(self, root: Path, archive: Archive):
        self.root = root
        self.archive = archive

    def fail(self, path: Path, problem: str) -> DataError:
        relative = path.relative_to(self.root).as_posix() if path != self.root else "."
        return DataError(f"{relative}: {problem}")

    def folders(self, path: Path) -> list[str]:
        if not path.is_dir():
            raise self.fail(path, "folder missing")
        return sorted(
            entry.name for entry in os.scandir(path) if entry.is_dir() and not entry.name.startswith(".")
        )

    def stems(self, path: Path, suffixes: tuple[str, ...]) -> list[str]:
        if not path.is_dir():
            return []
        return sorted(
            os.path.splitext(e.name)[0] for e in os.scandir(path) if e.name.lower().endswith(suffixes)
        )

    def frames(self, path: Path) -> list[str]:
        stems = self.stems(path, FRAME_SUFFIXES)
        if not stems:
            raise self.fail(path, "no frames")
        return stems

    def expect_videos(self, path: Path, names: list[str]) -> None:
        if self.archive.videos is not None and len(names) != self.archive.videos:
            raise self.fail(path, f"{len(names)} videos, the release has {self.archive.videos}")


def _split_names(path: Path) -> list[str]:
    """The videos of a DAVIS split file, read as ttvos.data.datasets reads it."""
    return sorted({line.strip().split("/")[-1] for line in path.read_text().splitlines() if line.strip()})


def _split(tree: _Tree, split: str) -> list[str]:
    path = tree.root / "ImageSets" / "2017" / f"{split}.txt"
    if not path.is_file():
        raise tree.fail(path, "split file missing")
    names = _split_names(path)
    tree.expect_videos(path, names)
    return names


def _davis_trainval(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """DAVIS 2017 trainval: the val videos, each with a mask for every frame (the ground truth)."""
    tree = _Tree(root, archive)
    names = _split(tree, "val")
    frames = 0
    for name in names:
        stems = tree.frames(root / _DAVIS_FRAMES / name)
        if tree.stems(root / _DAVIS_MASKS / name, (".png",)) != stems:
            raise tree.fail(root / _DAVIS_MASKS / name, "the masks do not match the frames one to one")
        frames += len(stems)
    return TreeCounts(len(names), frames, frames)


def _davis_testdev(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """DAVIS 2017 test-dev: frames and the first frame's mask of every video."""
    tree = _Tree(root, archive)
    names = _split(tree, "test-dev")
    frames = masks = 0
    for name in names:
        stems = tree.frames(root / _DAVIS_FRAMES / name)
        annotated = tree.stems(root / _DAVIS_MASKS / name, (".png",))
        if stems[0] not in annotated:
            raise tree.fail(root / _DAVIS_MASKS / name / f"{stems[0]}.png", "first-frame mask missing")
        frames, masks = frames + len(stems), masks + len(annotated)
    return TreeCounts(len(names), frames, masks)


def _davis_c(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """DAVIS-C: <level>/<corruption>/<video> frames for every level and corruption, DAVIS val's videos."""
    tree = _Tree(root, archive)
    split = data_root / "DAVIS" / "2017" / "trainval" / "ImageSets" / "2017" / "val.txt"
    val = _split_names(split) if split.is_file() else None
    videos = frames = 0
    for level in LEVELS:
        for corruption in CORRUPTIONS:
            folder = root / level / corruption
            names = tree.folders(folder)
            tree.expect_videos(folder, names)
            if val is not None and names != val:
                raise tree.fail(folder, "its videos are not those of DAVIS 2017 val")
            videos += len(names)
            frames += sum(len(tree.frames(folder / name)) for name in names)
    return TreeCounts(videos, frames, 0)


def _youtube_valid(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """YouTube-VOS 2018 valid: meta.json, the subsampled frames and at least one annotation per video."""
    tree = _Tree(root, archive)
    meta = root / "meta.json"
    try:
        names = sorted(json.loads(meta.read_text())["videos"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise tree.fail(meta, f"missing or unreadable ({type(error).__name__})") from error
    tree.expect_videos(meta, names)
    frames = masks = 0
    for name in names:
        frames += len(tree.frames(root / "JPEGImages" / name))
        annotated = tree.stems(root / "Annotations" / name, (".png",))
        if not annotated:
            raise tree.fail(root / "Annotations" / name, "no annotation PNG")
        masks += len(annotated)
    return TreeCounts(len(names), frames, masks)


def _youtube_all_frames(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """YouTube-VOS 2018 valid, every frame: the same videos, holding every subsampled frame."""
    tree = _Tree(root, archive)
    names = tree.folders(root / "JPEGImages")
    tree.expect_videos(root / "JPEGImages", names)
    valid = data_root / "YouTube2018" / "valid" / "JPEGImages"
    frames = 0
    for name in names:
        stems = tree.frames(root / "JPEGImages" / name)
        if valid.is_dir() and not set(tree.stems(valid / name, FRAME_SUFFIXES)) <= set(stems):
            raise tree.fail(root / "JPEGImages" / name, "lacks frames of valid/JPEGImages")
        frames += len(stems)
    if valid.is_dir() and names != tree.folders(valid):
        raise tree.fail(root / "JPEGImages", "its videos are not those of valid/JPEGImages")
    return TreeCounts(len(names), frames, 0)


def _mose_valid(root: Path, archive: Archive, data_root: Path) -> TreeCounts:
    """MOSE valid: frames and the first frame's mask of every video."""
    tree = _Tree(root, archive)
    names = tree.folders(root / "JPEGImages")
    tree.expect_videos(root / "JPEGImages", names)
    frames = 0
    for name in names:
        stems = tree.frames(root / "JPEGImages" / name)
        mask = root / "Annotations" / name / f"{stems[0]}.png"
        if not mask.is_file():
            raise tree.fail(mask, "first-frame mask missing")
        frames += len(stems)
    return TreeCounts(len(names), frames, len(names))


_VALIDATORS: dict[Layout, Callable[[Path, Archive, Path], TreeCounts]] = {
    "davis-trainval": _davis_trainval,
    "davis-testdev": _davis_testdev,
    "davis-c": _davis_c,
    "youtube-valid": _youtube_valid,
    "youtube-all-frames": _youtube_all_frames,
    "mose-valid": _mose_valid,
}


def validate(archive: Archive, root: Path, data_root: Path) -> TreeCounts:
    """Check the tree at ``root`` (unpacked from ``archive``); ``data_root`` holds the trees it relates to."""
    return _VALIDATORS[archive.layout](root, archive, data_root)

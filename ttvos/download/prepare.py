"""``prepare-data``: download each archive a dataset needs, unpack it safely, normalise and check the tree.

Each archive becomes one folder of the data root (``Archive.target``). It is unpacked into
``<data root>/.tmp-<archive>.<pid>/``, the folder the registry names (``roots``) is checked, gets a
``.ttvos-prepared.json`` record, and is renamed to its target: an interrupted or refused run leaves
no tree that passes for complete. A tree already in place is checked and left alone, so running
the command again does nothing. Archives download into ``<data root>/.downloads/`` beside their
hash pins, and are deleted once unpacked unless asked to keep them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import ttvos
from ttvos.data.io import DataError
from ttvos.download.extract import ArchiveError, extract, top_folder, unpacked_size
from ttvos.download.registry import Archive, Registry, load_registry
from ttvos.download.store import check_hash, ensure_free_space, lock_path, pin, pinned_hash, sha256_of
from ttvos.download.transfer import Network, Progress, download
from ttvos.download.validate import TreeCounts, validate
from ttvos.errors import UserError

MARKER = ".ttvos-prepared.json"
DOWNLOADS = ".downloads"


@dataclass(frozen=True)
class PreparedRecord:
    """The ``.ttvos-prepared.json`` record inside a prepared tree: where it came from, what it holds."""

    archive: str
    sha256: str
    videos: int
    frames: int
    masks: int
    ttvos: str

    @classmethod
    def read(cls, target: Path) -> PreparedRecord | None:
        try:
            return cls(**json.loads((target / MARKER).read_text()))
        except (OSError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Prepared:
    """A tree of the data root, checked: ``installed`` now, or already there."""

    archive: str
    target: Path
    counts: TreeCounts
    installed: bool


@dataclass(frozen=True)
class TreeStatus:
    """What ``--list`` shows for an archive: its tree and any download on disk."""

    archive: Archive
    target: Path
    record: PreparedRecord | None  # None: not prepared by ttvos
    present: bool  # the target folder exists
    downloaded: int | None  # bytes of the archive (or of its partial download) in .downloads


def prepare(
    datasets: list[str],
    data_root: Path,
    network: Network,
    *,
    from_archives: list[Path] | None = None,
    force: bool = False,
    keep_archives: bool = False,
    registry: Registry | None = None,
) -> Iterator[Progress | Prepared]:
    """Prepare every archive of ``datasets`` (``all``: every dataset) under ``data_root``."""
    registry = registry or load_registry()
    names = list(registry.datasets) if datasets == ["all"] else datasets
    unknown = [name for name in names if name not in registry.datasets]
    if unknown:
        raise UserError(f"unknown dataset {unknown[0]!r}; use one of {', '.join(registry.datasets)} or all")
    archives = registry.dataset_archives(names)
    given = _match_archives(from_archives or [], archives)
    for archive in archives:
        yield from _prepare_archive(
            archive, data_root, network, given.get(archive.file.filename), force, keep_archives
        )


def _match_archives(paths: list[Path], archives: list[Archive]) -> dict[str, Path]:
    """Which registry archive each file given by hand is: by its top folder, whatever its file name."""
    matched: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise UserError(f"--from-archive {path}: no such file")
        if len(archives) == 1:
            candidates = archives
        else:
            top = top_folder(path)
            candidates = [a for a in archives if top and top in a.roots] or [
                a for a in archives if "" in a.roots
            ]
        candidates = [a for a in candidates if a.file.filename not in matched]
        if len(candidates) != 1:
            expected = ", ".join(a.file.filename for a in archives)
            raise UserError(
                f"--from-archive {path}: cannot tell which archive it is (expected one of {expected})"
            )
        matched[candidates[0].file.filename] = path
    return matched


def _prepare_archive(
    archive: Archive, data_root: Path, network: Network, given: Path | None, force: bool, keep: bool
) -> Iterator[Progress | Prepared]:
    name = archive.file.filename
    target = data_root / archive.target
    if (target.exists() or target.is_symlink()) and not force:
        try:
            counts = validate(archive, target, data_root)
        except DataError as error:
            raise UserError(
                f"{target} exists but is not a complete tree of {name} ({error}); "
                "move it away, or pass --force to replace it"
            ) from error
        yield Prepared(name, target, counts, installed=False)
        return
    downloads = data_root / DOWNLOADS
    lock = lock_path(downloads, name)
    fix = f"delete the file and run again, or delete {lock} if the publisher changed the archive"
    if given is not None:
        path, ours = given, False
        digest = check_hash(path, archive.file, lock, fix=fix)
    else:
        yield from download(
            archive.file,
            downloads,
            network,
            fix=fix,
            by_hand=f"fetch {name} by hand (`ttvos prepare-data --list`) and pass --from-archive PATH",
        )
        path, ours = downloads / name, True
        digest = sha256_of(path)
    temporary = data_root / f".tmp-{name}.{os.getpid()}"
    for leftover in data_root.glob(f".tmp-{name}.*"):
        if leftover == temporary or not _running(leftover.suffix.lstrip(".")):  # an interrupted run's
            shutil.rmtree(leftover, ignore_errors=True)
    ensure_free_space(data_root, unpacked_size(path), f"unpacking {name}")
    try:
        yield from extract(path, temporary)
        root = _root(archive, temporary, path)
        counts = _check_unpacked(archive, root, data_root, path)
        record = PreparedRecord(name, digest, counts.videos, counts.frames, counts.masks, ttvos.__version__)
        (root / MARKER).write_text(json.dumps(asdict(record), indent=1) + "\n")
        _install(root, target)
    except ArchiveError:
        if ours and pinned_hash(lock) is None and archive.file.sha256 is None:
            path.unlink(missing_ok=True)  # never verified and does not unpack: useless, fetch it again
        raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    pin(lock, digest)
    if ours and not keep:
        path.unlink()
    yield Prepared(name, target, counts, installed=True)


def _running(pid: str) -> bool:
    """Whether the process that named a temporary folder still runs (on this machine)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _wrong_tree(archive: Archive, problem: str, path: Path) -> UserError:
    """Not an ArchiveError: the archive unpacks fine and is kept, in case ttvos is what is wrong."""
    return UserError(
        f"{archive.file.filename} does not hold the expected tree ({problem}); nothing was installed "
        f"(the archive stays at {path}: delete it if it is the wrong file)"
    )


def _root(archive: Archive, unpacked: Path, path: Path) -> Path:
    for candidate in archive.roots:
        if (unpacked / candidate).is_dir():
            return unpacked / candidate
    raise _wrong_tree(archive, f"none of the top folders {list(archive.roots)}", path)


def _check_unpacked(archive: Archive, root: Path, data_root: Path, path: Path) -> TreeCounts:
    try:
        return validate(archive, root, data_root)
    except DataError as error:
        raise _wrong_tree(archive, str(error), path) from error


def _install(root: Path, target: Path) -> None:
    """Rename the checked tree into place; a tree it replaces (--force) is removed only afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".old-{target.name}.{os.getpid()}")
    replaced = target.exists() or target.is_symlink()
    if replaced:
        target.rename(old)
    root.rename(target)
    if replaced:
        if old.is_symlink() or old.is_file():
            old.unlink()
        else:
            shutil.rmtree(old)


def tree_status(data_root: Path, registry: Registry | None = None) -> dict[str, list[TreeStatus]]:
    """Per dataset, the state of each of its archives under ``data_root`` (no checking, no network)."""
    registry = registry or load_registry()
    downloads = data_root / DOWNLOADS
    status = {}
    for dataset in registry.datasets:
        rows = []
        for archive in registry.dataset_archives([dataset]):
            target = data_root / archive.target
            files = [downloads / archive.file.filename, downloads / f"{archive.file.filename}.part"]
            size = next((f.stat().st_size for f in files if f.is_file()), None)
            rows.append(TreeStatus(archive, target, PreparedRecord.read(target), target.exists(), size))
        status[dataset] = rows
    return status

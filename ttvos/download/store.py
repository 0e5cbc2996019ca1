"""Files on disk: SHA-256 (hashed once per process), hash pins (lock files), free-space checks.

A pin is ``<file>.sha256`` in ``sha256sum`` format (``sha256sum -c`` can check it). It records the
hash of a file that passed verification, for files whose publisher gives no hash, so that every
later use, and every later download of the same name, is checked against what was verified once.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from pathlib import Path

from ttvos.download.registry import RemoteFile
from ttvos.errors import UserError
from ttvos.paths import write_text_atomic

_CHUNK = 1 << 20


class DownloadError(UserError):
    """A download, a checksum or a file given by hand that cannot be used; the message says what to do."""


def sha256_of(path: Path) -> str:
    """SHA-256 of a file; a file is hashed once per process unless it changes on disk."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def lock_path(folder: Path, filename: str) -> Path:
    """The pin of ``filename`` kept in ``folder`` (beside the download)."""
    return folder / f"{filename}.sha256"


def pinned_hash(lock: Path) -> str | None:
    return lock.read_text().split()[0] if lock.is_file() else None


def pin(lock: Path, digest: str) -> None:
    lock.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(lock, f"{digest}  {lock.name.removesuffix('.sha256')}\n")


def expected_hash(remote: RemoteFile, lock: Path) -> str | None:
    """The published hash, else the pinned one, else None (never verified yet)."""
    return remote.sha256 or pinned_hash(lock)


def check_hash(path: Path, remote: RemoteFile, lock: Path, *, fix: str) -> str:
    """The file's SHA-256, after checking it against the published or pinned hash (``fix``: what to do)."""
    digest = sha256_of(path)
    expected = expected_hash(remote, lock)
    if expected is not None and digest != expected:
        origin = "published" if remote.sha256 else f"pinned in {lock}"
        raise DownloadError(
            f"{path}: checksum mismatch (sha256 {digest[:12]}..., {origin}: {expected[:12]}...); {fix}"
        )
    return digest


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def free_bytes(folder: Path) -> int:
    """Free space of the file system that holds ``folder`` (or its nearest existing parent)."""
    existing = folder.resolve()
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse to start writing ``needed`` bytes that cannot fit (with 1% + 100 MB to spare)."""
    margin = needed // 100 + 100_000_000
    free = free_bytes(folder)
    if needed + margin > free:
        raise DownloadError(
            f"not enough free space in {folder} for {what}: needs {human_size(needed + margin)}, "
            f"{human_size(free)} free; free some space or choose another folder"
        )

"""Safe, streaming extraction of zip and tar archives into a fresh folder.

Members are read one at a time (an archive is never loaded into memory) and refused, with the
whole extraction, when they could write outside the folder: absolute paths, ``..`` components,
links that point outside, and device files or FIFOs. Hard links are copied. Archive permissions
are not applied (no set-uid bits from a download). The caller extracts into a temporary folder and
renames the checked result, so an interrupted or refused extraction never looks installed.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Literal

from ttvos.download.store import DownloadError
from ttvos.download.transfer import Progress

_CHUNK = 1 << 20
_DRIVE_LETTER = re.compile(r"[A-Za-z]:")
_CORRUPT = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
# The compressed tars, by their first bytes, and the readers that decompress them (_TarStream).
_TAR_READERS: dict[bytes, Callable[[IO[bytes]], IO[bytes]]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    b"BZh": lambda raw: bz2.BZ2File(raw, "rb"),
    b"\xfd7zXZ": lambda raw: lzma.LZMAFile(raw, "rb"),
}


class ArchiveError(DownloadError):
    """An archive that is corrupt, truncated or unsafe to extract."""


def archive_kind(path: Path) -> Literal["zip", "tar"]:
    """Zip or tar (plain, gzip, bzip2 or xz), from the file's first bytes rather than its name."""
    with path.open("rb") as handle:
        head = handle.read(265)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(tuple(_TAR_READERS)) or head[257:262] == b"ustar":
        return "tar"
    raise ArchiveError(f"{path}: not a zip or tar archive (an HTML page saved instead of the file?)")


def unpacked_size(path: Path) -> int:
    """Bytes the members take once extracted: exact for a zip; for a tar, the archive's own size,
    a fair estimate for video frames (JPEG and PNG barely compress further)."""
    if archive_kind(path) == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                return sum(info.file_size for info in archive.infolist())
        except _CORRUPT as error:
            raise _corrupt(path, error) from error
    return path.stat().st_size


def top_folder(path: Path) -> str:
    """The folder that holds the archive's first member ("" when that member is a file at the top)."""
    try:
        if archive_kind(path) == "zip":
            with zipfile.ZipFile(path) as archive:
                first = archive.infolist()[:1]
                name, is_dir = (first[0].filename, first[0].is_dir()) if first else ("", False)
        else:
            with tarfile.open(path, "r:*") as archive:  # reads the first header only
                member = archive.next()
                name, is_dir = (member.name, member.isdir()) if member else ("", False)
    except _CORRUPT as error:
        raise _corrupt(path, error) from error
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return parts[0] if parts and (is_dir or len(parts) > 1) else ""


def extract(path: Path, destination: Path) -> Iterator[Progress]:
    """Extract every member of ``path`` into the new folder ``destination``; yields progress."""
    destination.mkdir(parents=True)
    writer = _Writer(path, destination)
    try:
        if archive_kind(path) == "zip":
            yield from _extract_zip(path, writer)
        else:
            yield from _extract_tar(path, writer)
    except _CORRUPT as error:
        raise _corrupt(path, error) from error
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DownloadError(
                f"{path.name}: the disk filled up while unpacking; free some space"
            ) from error
        raise
    writer.check_links()


def _corrupt(path: Path, error: BaseException) -> ArchiveError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ArchiveError(f"{path.name}: truncated or corrupt archive ({reason}); nothing was installed")


class _Writer:
    """Creates members below ``root``, refusing anything that could land outside it."""

    def __init__(self, archive: Path, root: Path):
        self.archive = archive
        self.root = root
        self.real_root = os.path.realpath(root)
        self.links: list[Path] = []

    def refuse(self, name: str, reason: str) -> ArchiveError:
        return ArchiveError(f"{self.archive.name}: refused member {name!r} ({reason}); nothing was installed")

    def parts(self, name: str) -> tuple[str, ...]:
        normal = name.replace("\\", "/")
        if "\x00" in name or normal.startswith("/") or _DRIVE_LETTER.match(normal):
            raise self.refuse(name, "absolute path")
        parts = tuple(p for p in normal.split("/") if p not in ("", "."))
        if ".." in parts:
            raise self.refuse(name, "'..' leaves the target folder")
        return parts

    def _inside(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def target(self, name: str, parts: tuple[str, ...]) -> Path:
        path = self.root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self._inside(path.parent):
            raise self.refuse(name, "its folder is a link that leaves the target folder")
        if path.is_symlink():
            path.unlink()
        return path

    def directory(self, name: str) -> None:
        if parts := self.parts(name):
            path = self.root.joinpath(*parts)
            path.mkdir(parents=True, exist_ok=True)
            if not self._inside(path):
                raise self.refuse(name, "a link that leaves the target folder")

    def file(self, name: str, source: IO[bytes], done: int, total: int | None) -> Iterator[Progress]:
        parts = self.parts(name)
        if not parts:
            return
        with self.target(name, parts).open("wb") as handle:
            while chunk := source.read(_CHUNK):
                handle.write(chunk)
                done += len(chunk)
                yield Progress(f"unpack {self.archive.name}", done, total)

    def symlink(self, name: str, link: str) -> None:
        parts = self.parts(name)
        if not parts:
            raise self.refuse(name, "a link in place of the target folder")
        resolved = posixpath.normpath(posixpath.join(".", *parts[:-1], link.replace("\\", "/")))
        if link.startswith(("/", "\\")) or _DRIVE_LETTER.match(link) or resolved.split("/")[0] == "..":
            raise self.refuse(name, f"a link to {link!r}, outside the target folder")
        path = self.target(name, parts)
        os.symlink(link, path)
        self.links.append(path)

    def hardlink(self, name: str, link: str) -> None:
        source = self.root.joinpath(*self.parts(link))
        if not source.is_file() or source.is_symlink() or not self._inside(source):
            raise self.refuse(name, f"a hard link to {link!r}, not an earlier file of the archive")
        parts = self.parts(name)
        shutil.copyfile(source, self.target(name, parts))

    def check_links(self) -> None:
        """Links chained through other links are resolved for real once everything exists."""
        for path in self.links:
            if not self._inside(path):
                raise self.refuse(
                    path.relative_to(self.root).as_posix(), "a link that leaves the target folder"
                )


def _extract_zip(path: Path, writer: _Writer) -> Iterator[Progress]:
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        total = sum(info.file_size for info in members)
        done = 0
        for info in members:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                writer.symlink(info.filename, archive.read(info).decode("utf-8", errors="replace"))
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise writer.refuse(info.filename, "a device file, FIFO or socket")
            elif info.is_dir():
                writer.directory(info.filename)
            else:
                with archive.open(info) as source:
                    yield from writer.file(info.filename, source, done, total)
            done += info.file_size


class _Counting:
    """A read-only file that counts the bytes read from it (the tar stream's progress)."""

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.done += len(data)
        return data


class _TarStream:
    """The tar data of an archive file, decompressed by the gzip, bz2 and lzma readers.

    tarfile's own stream mode (``r|gz``) does not check that a compressed stream ends properly: a
    download cut where a member begins decompresses to a shorter, well-formed tar. These readers
    raise ``EOFError`` at such a cut, and ``ran_out`` records a read that found no data left, which a
    complete tar never needs before its end-of-archive blocks.
    """

    def __init__(self, raw: _Counting, head: bytes):
        self.ran_out = False
        readers = [reader for magic, reader in _TAR_READERS.items() if head.startswith(magic)]
        self.stream: IO[bytes] | _Counting = readers[0](raw) if readers else raw  # type: ignore[arg-type]

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.ran_out = self.ran_out or (not data and size != 0)
        return data


def _extract_tar(path: Path, writer: _Writer) -> Iterator[Progress]:
    total = path.stat().st_size
    with path.open("rb") as raw:
        counting = _Counting(raw)
        stream = _TarStream(counting, raw.read(6))
        raw.seek(0)
        with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                if member.issym():
                    writer.symlink(member.name, member.linkname)
                elif member.islnk():
                    writer.hardlink(member.name, member.linkname)
                elif member.isdir():
                    writer.directory(member.name)
                elif member.isreg():
                    source = archive.extractfile(member)
                    assert source is not None
                    for _ in writer.file(member.name, source, 0, None):
                        yield Progress(f"unpack {path.name}", counting.done, total)
                else:
                    raise writer.refuse(member.name, "a device file, FIFO or socket")
                yield Progress(f"unpack {path.name}", counting.done, total)
        if stream.ran_out:
            raise EOFError("the data ends before the tar's end-of-archive blocks")
        while stream.read(_CHUNK):  # the rest, so that a compressed stream's end and checksum are read
            pass

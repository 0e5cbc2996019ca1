"""Registered STCN checkpoints: where they come from, where they are cached, how they download.

Downloads resume from a ``.part`` file (HTTP ``Range``), are checked against a SHA-256 before
they take the final name, and never leave a half-written checkpoint behind. The SHA-256 of each
release is recorded here when known; otherwise the hash of the first complete download is
recorded beside the file (``.sha256``) and checked on every later use.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ttvos.errors import UserError
from ttvos.paths import user_folder

STANDIN = "standin"  # deterministic stand-in weights, generated locally (not trained)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelInfo:
    """A released checkpoint."""

    name: str
    url: str
    description: str
    sha256: str | None = None  # of the release file, when known

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def source_url(self) -> str:
        """The release URL, or the same file on ``$TTVOS_MODEL_MIRROR`` when that is set."""
        mirror = os.environ.get("TTVOS_MODEL_MIRROR")
        return f"{mirror.rstrip('/')}/{self.filename}" if mirror else self.url


_RELEASE = "https://github.com/hkchengrex/STCN/releases/download/1.0"
MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            "stcn", f"{_RELEASE}/stcn.pth", "STCN trained on static images, BL30K, DAVIS and YouTube-VOS"
        ),
        ModelInfo(
            "stcn_s01", f"{_RELEASE}/stcn_s01.pth", "STCN trained on static images and BL30K (no real videos)"
        ),
        ModelInfo(
            "stcn_s0",
            f"{_RELEASE}/stcn_s0.pth",
            "STCN trained on static images only (4-channel value encoder)",
        ),
    )
}


class DownloadError(UserError):
    """A download that failed or produced a file that does not match its checksum."""


def weights_dir() -> Path:
    """``$TTVOS_WEIGHTS``, else ``$XDG_CACHE_HOME/ttvos/weights`` (default ``~/.cache``)."""
    return user_folder("TTVOS_WEIGHTS", "XDG_CACHE_HOME", "weights")


def sha256_of(path: Path) -> str:
    """SHA-256 of a file; a checkpoint is hashed once per process unless it changes on disk."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_hash(info: ModelInfo, path: Path) -> str | None:
    recorded = path.with_name(path.name + ".sha256")
    return info.sha256 or (recorded.read_text().split()[0] if recorded.is_file() else None)


def resolve_weights(weights: str) -> Path | None:
    """Checkpoint file for a registered name or a path; ``None`` means the stand-in weights.

    A registered checkpoint that is not downloaded yet, or whose hash no longer matches, is an
    error that says which command fixes it.
    """
    if weights == STANDIN:
        return None
    if weights in MODELS:
        info = MODELS[weights]
        path = weights_dir() / info.filename
        if not path.is_file():
            raise UserError(
                f"weights {weights!r} are not downloaded yet: run `ttvos download-models {weights}`"
            )
        expected = _expected_hash(info, path)
        if expected is not None and sha256_of(path) != expected:
            raise UserError(
                f"{path}: checksum mismatch (corrupt file); run `ttvos download-models {weights} --force`"
            )
        return path
    path = Path(weights).expanduser()
    if not path.is_file():
        known = ", ".join([*MODELS, STANDIN])
        raise UserError(f"--weights {weights}: no such checkpoint file and not a registered model ({known})")
    return path


@dataclass(frozen=True)
class Progress:
    """Bytes received so far and the total (None when the server does not say)."""

    done: int
    total: int | None


def download(info: ModelInfo, folder: Path, *, force: bool = False) -> Iterator[Progress]:
    """Download ``info`` into ``folder``, resuming a ``.part`` file; yields progress as it goes."""
    import requests

    url = info.source_url()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / info.filename
    part = folder / (info.filename + ".part")
    recorded = final.with_name(final.name + ".sha256")
    if final.is_file() and not force:
        return
    if force:
        part.unlink(missing_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=60)
        if response.status_code == 416:  # the part file is already complete
            response.close()
        else:
            response.raise_for_status()
            if offset and response.status_code != 206:  # the server ignored Range: start over
                offset = 0
            total = response.headers.get("Content-Length")
            size = int(total) + offset if total is not None else None
            with part.open("ab" if offset else "wb") as handle:
                done = offset
                for chunk in response.iter_content(_CHUNK):
                    handle.write(chunk)
                    done += len(chunk)
                    yield Progress(done, size)
            if size is not None and part.stat().st_size != size:
                raise DownloadError(f"{url}: connection closed early; run the command again to resume")
    except requests.RequestException as error:
        raise DownloadError(f"{url}: download failed ({error}); run the command again to resume") from error
    digest = sha256_of(part)
    if info.sha256 is not None and digest != info.sha256:
        part.unlink()
        raise DownloadError(
            f"{url}: checksum mismatch (got {digest[:12]}..., expected {info.sha256[:12]}...)"
        )
    _check_loadable(part, url)
    part.replace(final)
    recorded.write_text(f"{digest}  {final.name}\n")


def _check_loadable(path: Path, url: str) -> None:
    """A finished download must be a checkpoint that fits STCN, or it does not take the final name."""
    from ttvos.model.checkpoint import CheckpointError, adapt_state_dict, check_compatible, read_state_dict
    from ttvos.model.stcn import STCN

    try:
        import torch

        with torch.device("meta"):
            network = STCN()
        check_compatible(network, adapt_state_dict(read_state_dict(path)), url)
    except CheckpointError as error:
        path.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the downloaded file is not a valid checkpoint ({error})") from error

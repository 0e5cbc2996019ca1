"""Per-user folders: an explicit environment variable, else the XDG base directory."""

from __future__ import annotations

import os
from pathlib import Path

_XDG_DEFAULTS = {"XDG_CONFIG_HOME": ".config", "XDG_CACHE_HOME": ".cache", "XDG_DATA_HOME": ".local/share"}


def user_folder(override: str, xdg: str, leaf: str) -> Path:
    """``$<override>``, else ``$<xdg>/ttvos/<leaf>`` (XDG's default base under the home folder)."""
    if os.environ.get(override):
        return Path(os.environ[override]).expanduser()
    base = Path(os.environ.get(xdg) or Path.home() / _XDG_DEFAULTS[xdg])
    return base / "ttvos" / leaf


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary sibling, then rename it over ``path``: readers (and concurrent
    shards writing the same file) never see a half-written file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # e.g. the disk filled up mid-write: leave nothing behind
        raise
    return path

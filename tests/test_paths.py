"""Atomic text files: a failed write leaves neither a half-written file nor a temporary one."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from ttvos.paths import write_text_atomic


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "run.yaml"
    write_text_atomic(path, "old\n")

    def full(self, text, *args, **kwargs):
        Path.write_bytes(self, text[:3].encode())
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        write_text_atomic(path, "new contents\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.yaml"]

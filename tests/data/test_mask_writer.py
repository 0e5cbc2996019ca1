"""The background mask writer: every PNG on disk when its block ends, errors raised, no write after."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ttvos.data.io import read_mask
from ttvos.data.mask_writer import MaskWriter


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ttvos-mask-writer")]


def test_every_mask_is_on_disk_and_exact_when_the_block_ends(tmp_path):
    rng = np.random.default_rng(0)
    masks = [rng.integers(0, 5, size=(48, 64), dtype=np.uint8) for _ in range(20)]
    with MaskWriter(max_pending=3) as writer:
        for index, labels in enumerate(masks):
            writer.write(tmp_path / f"{index:05d}.png", labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:05d}.png" for i in range(20)]
    for index, labels in enumerate(masks):
        assert np.array_equal(read_mask(tmp_path / f"{index:05d}.png"), labels)
    assert not _writer_threads()


def test_a_failed_write_is_raised_not_dropped(tmp_path):
    labels = np.zeros((8, 8), dtype=np.uint8)
    with pytest.raises(FileNotFoundError), MaskWriter() as writer:
        writer.write(tmp_path / "missing-folder" / "00000.png", labels)
        for index in range(1, 30):  # a later write (or the end of the block) reports the failure
            writer.write(tmp_path / f"{index:05d}.png", labels)
    assert not _writer_threads()


def test_an_error_of_the_caller_stops_the_writes_before_it_propagates(tmp_path):
    """The runner deletes or renames the folder after an error: no write may still be running then."""
    labels = np.zeros((480, 854), dtype=np.uint8)
    with pytest.raises(RuntimeError, match="segmentation failed"), MaskWriter(max_pending=8) as writer:
        for index in range(8):
            writer.write(tmp_path / f"{index:05d}.png", labels)
        raise RuntimeError("segmentation failed")
    assert not _writer_threads()
    written = sorted(tmp_path.iterdir())
    for path in written:  # whatever was written is whole; the rest was cancelled
        assert read_mask(path).shape == (480, 854)


def test_max_pending_must_be_positive():
    with pytest.raises(ValueError, match="max_pending"):
        MaskWriter(max_pending=0)

"""Mask PNGs written on a background thread, so that encoding overlaps the next frame's compute.

Writing one 480p palette PNG takes ~11 ms; on a GPU, where a frame's network pass is a few
milliseconds, writing between frames took a third of a whole-video inference (docs/performance.md).
One worker thread keeps the files in order and Pillow releases the GIL while it compresses, so the
main thread goes on to the next frame. The writer never outlives its ``with`` block: leaving it
waits for (or, after an error, cancels) every queued write, so a caller that then renames or deletes
the output folder never races a write, and a failed write is raised, never dropped.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from os import PathLike
from types import TracebackType

import numpy as np

from ttvos.data.io import write_mask


class MaskWriter:
    """``write(path, labels)`` queues a PNG; at most ``max_pending`` wait, bounding the memory held."""

    def __init__(self, max_pending: int = 8) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ttvos-mask-writer")
        self._pending: deque[Future[None]] = deque()
        self._max_pending = max_pending

    def write(self, path: str | PathLike[str], labels: np.ndarray) -> None:
        """Queue ``labels`` (``H*W`` uint8, not modified afterwards) for ``path``.

        Raises the error of an earlier write: the first failure stops the video.
        """
        while self._pending and (self._pending[0].done() or len(self._pending) >= self._max_pending):
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(write_mask, path, labels))

    def close(self) -> None:
        """Wait until every queued PNG is on disk; raise the first failed write's error."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> MaskWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:  # the caller failed: drop what is queued, but let the running write end before it cleans up
            self._pending.clear()
            self._pool.shutdown(wait=True, cancel_futures=True)

"""Memory of past frames (keys + values) for a group of objects, read with top-k matching."""

from __future__ import annotations

from torch import Tensor

from ttvos.model.matching import top_k_softmax
from ttvos.model.stcn import STCN


class MemoryBank:
    """Permanent memory frames plus one temporary slot (the ``include_last`` frame).

    All objects of a bank share the memory keys (one affinity for all, as in STCN); each object
    has its own values. Objects annotated at different frames of a video (YouTube-VOS) live in
    different banks because their memories start at different frames.

    The frames live in buffers allocated once for ``capacity`` frames (grown by doubling if more
    come), in the order they were added, the temporary frame last: a read takes a view of the
    filled part instead of concatenating the whole memory again at every frame (same numbers).
    With ``max_frames``, at most that many frames besides the *pinned* ones (annotated frames) are
    kept: adding one more drops the oldest unpinned frame, so the memory stops growing.
    """

    def __init__(self, top_k: int, *, capacity: int = 8, max_frames: int | None = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self.top_k = top_k
        self.max_frames = max_frames
        self._capacity = max(capacity, 1)  # frames the buffers hold before growing
        self._keys: Tensor | None = None  # 1*CK*(capacity*hw)
        self._values: Tensor | None = None  # K*CV*(capacity*hw)
        self._positions = 0  # memory positions per frame (h*w)
        self._pinned: list[bool] = []  # per permanent frame, in order: an annotated frame?
        self._has_temporary = False

    @property
    def frames(self) -> int:
        """Permanent frames held (the temporary one not counted)."""
        return len(self._pinned)

    @property
    def size(self) -> int:
        """Memory positions a read uses (temporary frame included)."""
        return (self.frames + self._has_temporary) * self._positions

    def add(self, key: Tensor, value: Tensor, *, temporary: bool = False, pinned: bool = False) -> None:
        """Store one frame: ``key: 1*CK*h*w``, ``value: K*CV*h*w``.

        Any addition drops the previous temporary frame; the very first frame is always permanent.
        """
        key, value = key.flatten(start_dim=2), value.flatten(start_dim=2)
        self._has_temporary = False
        if self._keys is None:
            self._allocate(key, value)
            temporary = False
        elif temporary:
            self._has_temporary = True
        elif (
            not pinned and self.max_frames is not None and self.frames - sum(self._pinned) >= self.max_frames
        ):
            self._drop(self._pinned.index(False))
        slot = self.frames
        self._reserve(slot + 1)
        assert self._keys is not None and self._values is not None
        start, end = slot * self._positions, (slot + 1) * self._positions
        self._keys[:, :, start:end] = key
        self._values[:, :, start:end] = value
        if not temporary:
            self._pinned.append(pinned)

    def read(self, network: STCN, query_key: Tensor) -> Tensor:
        """Read-out for a query frame: ``query_key: 1*CK*h*w -> K*CV*h*w``."""
        if self._keys is None or self._values is None:
            raise RuntimeError("read from an empty memory bank")
        keys, values = self._keys[:, :, : self.size], self._values[:, :, : self.size]
        height, width = query_key.shape[-2:]
        affinity = network.affinity(keys, query_key.flatten(start_dim=2))  # 1*N*HW
        # The reference crashes when top_k exceeds the memory size; use every entry instead.
        weights = top_k_softmax(affinity, min(self.top_k, keys.shape[2]))
        readout = network.read(weights.expand(values.shape[0], -1, -1), values)
        return readout.view(values.shape[0], values.shape[1], height, width)

    def _allocate(self, key: Tensor, value: Tensor) -> None:
        """Buffers for ``capacity`` frames shaped like one frame's ``key: 1*CK*hw``, ``value: K*CV*hw``."""
        self._positions = key.shape[2]
        total = self._capacity * self._positions
        self._keys = key.new_empty(*key.shape[:2], total)
        self._values = value.new_empty(*value.shape[:2], total)

    def _reserve(self, frames: int) -> None:
        """Room for ``frames`` frames: the buffers double when full (a longer video than planned)."""
        if frames <= self._capacity:
            return
        assert self._keys is not None and self._values is not None
        used = self.frames * self._positions
        keys, values = self._keys, self._values
        while self._capacity < frames:
            self._capacity *= 2
        self._allocate(keys[:, :, : self._positions], values[:, :, : self._positions])
        assert self._keys is not None and self._values is not None
        self._keys[:, :, :used] = keys[:, :, :used]
        self._values[:, :, :used] = values[:, :, :used]

    def _drop(self, frame: int) -> None:
        """Remove permanent frame ``frame``, moving the later ones down (their order is kept)."""
        assert self._keys is not None and self._values is not None
        start, end = frame * self._positions, self.frames * self._positions
        for buffer in (self._keys, self._values):
            buffer[:, :, start : end - self._positions] = buffer[:, :, start + self._positions : end].clone()
        del self._pinned[frame]

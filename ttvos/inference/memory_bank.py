"""Memory of past frames (keys + values) for a group of objects, read with top-k matching."""

from __future__ import annotations

import torch
from torch import Tensor

from ttvos.model.matching import top_k_softmax
from ttvos.model.stcn import STCN


class MemoryBank:
    """Permanent memory frames plus one temporary slot (the ``include_last`` frame).

    All objects of a bank share the memory keys (one affinity for all, as in STCN); each object
    has its own values. Objects annotated at different frames of a video (YouTube-VOS) live in
    different banks because their memories start at different frames.
    """

    def __init__(self, top_k: int) -> None:
        self.top_k = top_k
        self._keys: Tensor | None = None  # 1*CK*N
        self._values: Tensor | None = None  # K*CV*N
        self._temp_key: Tensor | None = None
        self._temp_value: Tensor | None = None

    def add(self, key: Tensor, value: Tensor, *, temporary: bool = False) -> None:
        """Store one frame: ``key: 1*CK*h*w``, ``value: K*CV*h*w``.

        Any addition drops the previous temporary frame; the very first frame is always permanent.
        """
        self._temp_key = self._temp_value = None
        key, value = key.flatten(start_dim=2), value.flatten(start_dim=2)
        if self._keys is None or self._values is None:
            self._keys, self._values = key, value
        elif temporary:
            self._temp_key, self._temp_value = key, value
        else:
            self._keys = torch.cat([self._keys, key], dim=2)
            self._values = torch.cat([self._values, value], dim=2)

    def read(self, network: STCN, query_key: Tensor) -> Tensor:
        """Read-out for a query frame: ``query_key: 1*CK*h*w -> K*CV*h*w``."""
        if self._keys is None or self._values is None:
            raise RuntimeError("read from an empty memory bank")
        keys, values = self._keys, self._values
        if self._temp_key is not None and self._temp_value is not None:
            keys = torch.cat([keys, self._temp_key], dim=2)
            values = torch.cat([values, self._temp_value], dim=2)
        height, width = query_key.shape[-2:]
        affinity = network.affinity(keys, query_key.flatten(start_dim=2))  # 1*N*HW
        # The reference crashes when top_k exceeds the memory size; use every entry instead.
        weights = top_k_softmax(affinity, min(self.top_k, keys.shape[2]))
        readout = network.read(weights.expand(values.shape[0], -1, -1), values)
        return readout.view(values.shape[0], values.shape[1], height, width)

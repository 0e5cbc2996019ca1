"""XMem's memories for one video: working memory, long-term memory and the sensory (hidden) state.

Keys are shared by all objects; values are kept per *object group* (objects first given in the
same frame), and a group's values cover only the newest keys (those from its first frame on).
Working memory counts how much each element is used by the readout; when it holds ``T_max``
frames, all but its first and ``T_min - 1`` newest frames are *consolidated*: the ``P`` most used
elements become prototypes whose values and shrinkage are softmax-weighted sums over the
candidates, and move to long-term memory. Long-term memory beyond ``LT_max - P`` elements first
drops its least used elements. These are the semantics (and float32 operation order) of XMem's
``MemoryManager`` and ``KeyValueMemoryStore``, including their quirks, listed where they occur.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ttvos.config import XMemInferenceConfig
from ttvos.errors import UserError
from ttvos.model.matching import full_softmax, top_k_softmax
from ttvos.model.xmem import similarity

_NEW_LIFE = 1e-7  # life count of a new element: its usage is 0 / 1e-7 = 0 until first read


@dataclass(frozen=True)
class MemoryEvent:
    """A consolidation or a removal of obsolete long-term elements, with the memory sizes around it.

    Sizes count key elements (frames x h x w); ``frame`` is the video frame that triggered it.
    """

    frame: int
    kind: Literal["consolidate", "remove_obsolete"]
    work_before: int
    work_after: int
    long_before: int
    long_after: int


def _cat(old: Tensor | None, new: Tensor) -> Tensor:
    return new if old is None else torch.cat([old, new], dim=-1)


def _keep_ends(x: Tensor, head: int, tail: int) -> Tensor:
    """The first ``head`` and last ``tail`` elements along the last dimension."""
    return torch.cat([x[..., :head], x[..., x.shape[-1] - tail :]], dim=-1)


def _top_k(similarities: Tensor, top_k: int) -> Tensor:
    # XMem fails when the memory holds fewer than top_k elements; all of them are used instead.
    return top_k_softmax(similarities, min(top_k, similarities.shape[1]))


class MemoryStore:
    """Keys ``1*CK*N`` (with shrinkage ``1*1*N`` and selection ``1*CK*N``), values per object group.

    ``values[g]: K_g*CV*N_g`` belong to the last ``N_g`` keys. With ``count_usage`` every element
    has a use count (summed read affinity) and a life count (reads since it was added).
    """

    def __init__(self, *, count_usage: bool) -> None:
        self.count_usage = count_usage
        self.key: Tensor | None = None
        self.shrinkage: Tensor | None = None
        self.selection: Tensor | None = None
        self.values: list[Tensor] = []
        self.groups: list[list[int]] = []  # object indices (0-based, in order of appearance) per group
        self.use_count: Tensor | None = None  # 1*1*N
        self.life_count: Tensor | None = None  # 1*1*N

    @property
    def size(self) -> int:
        return 0 if self.key is None else self.key.shape[-1]

    @property
    def num_groups(self) -> int:
        return len(self.values)

    def value_size(self, group: int) -> int:
        return self.values[group].shape[-1]

    def _add_keys(self, key: Tensor, shrinkage: Tensor | None, selection: Tensor | None) -> None:
        self.key = _cat(self.key, key)
        if shrinkage is not None:
            self.shrinkage = _cat(self.shrinkage, shrinkage)
        if selection is not None:
            self.selection = _cat(self.selection, selection)
        if self.count_usage:
            new = torch.zeros(1, 1, key.shape[-1], device=key.device, dtype=torch.float32)
            self.use_count = _cat(self.use_count, new)
            self.life_count = _cat(self.life_count, new + _NEW_LIFE)

    def add_frame(
        self, key: Tensor, shrinkage: Tensor, selection: Tensor | None, value: Tensor, objects: list[int]
    ) -> None:
        """Working memory: one frame, ``key: 1*CK*N``, ``value: K*CV*N`` for ``objects`` (0..K-1).

        Objects not yet in a group form a new group (they were given in this frame).
        """
        self._add_keys(key, shrinkage, selection)
        for index, group in enumerate(self.groups):
            self.values[index] = torch.cat([self.values[index], value[group]], dim=-1)
        grouped = {obj for group in self.groups for obj in group}
        new = [obj for obj in objects if obj not in grouped]
        if new:
            self.groups.append(new)
            self.values.append(value[new])

    def add_prototypes(self, key: Tensor, shrinkage: Tensor | None, values: list[Tensor | None]) -> None:
        """Long-term memory: ``key: 1*CK*P``; per group ``K_g*CV*P_g`` or None (nothing to add).

        As in XMem, a group's prototypes are appended by list position: a group with prototypes
        after one without would land in the wrong slot, but groups only ever lose candidates
        from the last one backwards, so this does not happen.
        """
        self._add_keys(key, shrinkage, None)
        for index, value in enumerate(values):
            if value is None:
                continue
            if index < self.num_groups:
                self.values[index] = torch.cat([self.values[index], value], dim=-1)
            else:
                self.values.append(value)

    def update_usage(self, usage: Tensor) -> None:
        """Add one read's affinity sums ``N`` to the use counts; every element lives one read longer."""
        if self.use_count is None or self.life_count is None:
            return
        self.use_count += usage.view_as(self.use_count)
        self.life_count += 1

    def usage(self) -> Tensor:
        """``1*1*N``: use count / life count."""
        if self.use_count is None or self.life_count is None:
            raise RuntimeError("usage was not counted for this memory")
        return self.use_count / self.life_count

    def sliced(self, head: int, tail: int) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor]:
        """Key, shrinkage, selection and usage of all but the first ``head`` and last ``tail`` elements."""
        assert self.key is not None
        stop = self.size - tail
        shrinkage = None if self.shrinkage is None else self.shrinkage[..., head:stop]
        selection = None if self.selection is None else self.selection[..., head:stop]
        return self.key[..., head:stop], shrinkage, selection, self.usage()[..., head:stop]

    def keep_ends(self, head: int, tail: int, min_value_size: int) -> None:
        """Drop all but the first ``head`` and last ``tail`` elements.

        A group's values are cut the same way (relative to its own size) only when it holds at
        least ``min_value_size`` of them, as XMem does.
        """
        assert self.key is not None
        self.key = _keep_ends(self.key, head, tail)
        if self.shrinkage is not None:
            self.shrinkage = _keep_ends(self.shrinkage, head, tail)
        if self.selection is not None:
            self.selection = _keep_ends(self.selection, head, tail)
        if self.use_count is not None and self.life_count is not None:
            self.use_count = _keep_ends(self.use_count, head, tail)
            self.life_count = _keep_ends(self.life_count, head, tail)
        self.values = [
            _keep_ends(value, head, tail) if value.shape[-1] >= min_value_size else value
            for value in self.values
        ]

    def remove_obsolete(self, max_size: int) -> None:
        """Keep the elements used more than the ``size - max_size``-th least used (ties all go)."""
        assert self.key is not None
        excess = self.size - max_size
        if excess <= 0:  # XMem fails on an empty top-k here; nothing needs removing
            return
        if self.num_groups > 1:
            raise UserError(
                "XMem cannot remove long-term memory elements when objects appear after the first "
                "annotated frame; raise max_long_term_elements"
            )
        usage = self.usage().flatten()
        threshold = torch.topk(usage, k=excess, largest=False, sorted=True).values[-1]
        survived = usage > threshold
        self.key = self.key[..., survived]
        self.shrinkage = None if self.shrinkage is None else self.shrinkage[..., survived]
        self.selection = None if self.selection is None else self.selection[..., survived]
        self.values = [value[..., survived] for value in self.values]
        assert self.use_count is not None and self.life_count is not None
        self.use_count = self.use_count[..., survived]
        self.life_count = self.life_count[..., survived]


class XMemMemory:
    """Working memory, long-term memory and the hidden state of one video (XMem's ``MemoryManager``)."""

    def __init__(self, config: XMemInferenceConfig, hidden_dim: int, *, count_long_term_usage: bool) -> None:
        self.config = config
        self.hidden_dim = hidden_dim
        self.working = MemoryStore(count_usage=config.enable_long_term)
        self.long_term = MemoryStore(count_usage=count_long_term_usage)
        self.hidden: Tensor | None = None  # 1*K*CH*h*w, objects in order of appearance
        self.events: list[MemoryEvent] = []
        self._frame_size = 0  # h*w key elements per frame, set by the first frame

    def read(self, query_key: Tensor, selection: Tensor | None) -> Tensor:
        """Memory readout for a query frame: ``query_key, selection: 1*CK*h*w -> K*CV*h*w``.

        Each group has its own top-k softmax over the keys it has values for; with long-term
        memory the softmax runs over [long-term, working] jointly. The first group's affinity
        (it has values for every key) is the usage added to the counts.
        """
        height, width = query_key.shape[-2:]
        query_key = query_key.flatten(start_dim=2)
        selection = None if selection is None else selection.flatten(start_dim=2)
        work, long = self.working, self.long_term
        top_k = self.config.top_k
        assert work.key is not None
        if self.config.enable_long_term and long.size > 0:
            assert long.key is not None
            long_size = long.size
            similarities = similarity(
                torch.cat([long.key, work.key], -1),
                _cat(long.shrinkage, work.shrinkage),
                query_key,
                selection,
            )
            work_sim, long_sim = similarities[:, long_size:], similarities[:, :long_size]
            first = _top_k(torch.cat([long_sim[:, -long.value_size(0) :], work_sim], 1), top_k)
            affinities = [first]
            for group in range(1, work.num_groups):
                group_sim = work_sim[:, -work.value_size(group) :]
                if group < long.num_groups:
                    group_sim = torch.cat([long_sim[:, -long.value_size(group) :], group_sim], 1)
                affinities.append(_top_k(group_sim, top_k))
            values = [
                torch.cat([long.values[group], value], -1) if group < long.num_groups else value
                for group, value in enumerate(work.values)
            ]
            # XMem splits the first group's usage at the long-term size (equal to its long-term span).
            usage = first.sum(dim=2)
            work.update_usage(usage[:, long_size:].flatten())
            long.update_usage(usage[:, :long_size].flatten())
        else:
            similarities = similarity(work.key, work.shrinkage, query_key, selection)
            first = _top_k(similarities, top_k)
            if self.config.enable_long_term:
                work.update_usage(first.sum(dim=2).flatten())
            affinities = [first] + [
                _top_k(similarities[:, -work.value_size(group) :], top_k)
                for group in range(1, work.num_groups)
            ]
            values = work.values
        readout = torch.cat([value @ affinity for value, affinity in zip(values, affinities, strict=True)])
        return readout.view(readout.shape[0], readout.shape[1], height, width)

    def add(
        self,
        key: Tensor,
        shrinkage: Tensor,
        value: Tensor,
        selection: Tensor | None,
        *,
        num_objects: int,
        frame: int,
    ) -> None:
        """Add a memory frame (``key: 1*CK*h*w``, ``shrinkage: 1*1*h*w``, ``value: 1*K*CV*h*w``).

        ``selection`` is kept for consolidation (long-term memory on). Consolidation, preceded
        when needed by the removal of obsolete long-term elements, follows when working memory
        holds ``max_mid_term_frames`` frames; ``frame`` labels the events.
        """
        self._frame_size = key.shape[-2] * key.shape[-1]
        self.working.add_frame(
            key.flatten(start_dim=2),
            shrinkage.flatten(start_dim=2),
            None if selection is None else selection.flatten(start_dim=2),
            value[0].flatten(start_dim=2),
            list(range(num_objects)),
        )
        config = self.config
        if not config.enable_long_term or self.working.size < config.max_mid_term_frames * self._frame_size:
            return
        max_long = config.max_long_term_elements - config.num_prototypes
        if self.long_term.size >= max_long:
            before = self.long_term.size
            self.long_term.remove_obsolete(max_long)
            size = self.working.size
            self.events.append(MemoryEvent(frame, "remove_obsolete", size, size, before, self.long_term.size))
        work_before, long_before = self.working.size, self.long_term.size
        self._consolidate()
        self.events.append(
            MemoryEvent(
                frame, "consolidate", work_before, self.working.size, long_before, self.long_term.size
            )
        )

    def _consolidate(self) -> None:
        """Turn working memory minus its first and ``T_min - 1`` newest frames into prototypes."""
        frame = self._frame_size
        tail = (self.config.min_mid_term_frames - 1) * frame  # newest elements kept
        total = self.working.size
        # A group's candidates are its values after its own first frame and before the newest ones
        # (the last candidates); a group with at most one frame of them gives none, as in XMem.
        candidate_values = [
            value[..., frame : value.shape[-1] - tail]
            if value.shape[-1] == total or value.shape[-1] > tail + 2 * frame
            else None
            for value in self.working.values
        ]
        key, shrinkage, selection, usage = self.working.sliced(frame, tail)
        prototype_key, prototype_shrinkage, prototype_values = self._prototypes(
            key, shrinkage, selection, usage, candidate_values
        )
        # As in XMem, a group holding exactly tail + 2 frames loses its one candidate frame unconsolidated.
        self.working.keep_ends(frame, tail, min_value_size=tail + 2 * frame)
        self.long_term.add_prototypes(prototype_key, prototype_shrinkage, prototype_values)

    def _prototypes(
        self,
        key: Tensor,
        shrinkage: Tensor | None,
        selection: Tensor | None,
        usage: Tensor,
        values: list[Tensor | None],
    ) -> tuple[Tensor, Tensor | None, list[Tensor | None]]:
        """The ``P`` most used candidates as prototypes, potentiated by a softmax over candidates.

        ``key: 1*CK*N``, ``usage: 1*1*N``; per group the candidate values ``K_g*CV*N_g`` (or None).
        A prototype outside a group's candidates gets no value in that group.
        """
        count = key.shape[-1]
        # XMem fails with fewer candidates than prototypes; all candidates become prototypes instead.
        _, indices = torch.topk(usage, k=min(self.config.num_prototypes, count), dim=-1, sorted=True)
        indices = indices.flatten()
        prototype_key = key[:, :, indices]
        prototype_selection = None if selection is None else selection[:, :, indices]
        similarities = similarity(key, shrinkage, prototype_key, prototype_selection)  # 1*N*P
        affinities: list[Tensor | None] = []
        for value in values:
            affinity = None
            if value is not None:
                valid = indices >= count - value.shape[-1]
                affinity = full_softmax(similarities[:, -value.shape[-1] :, valid])
                affinity = affinity if affinity.shape[-1] > 0 else None
            affinities.append(affinity)
        prototype_values = [
            None if value is None or affinity is None else value @ affinity
            for value, affinity in zip(values, affinities, strict=True)
        ]
        prototype_shrinkage = None
        if shrinkage is not None:
            assert affinities[0] is not None
            prototype_shrinkage = shrinkage @ affinities[0]
        return prototype_key, prototype_shrinkage, prototype_values

    def add_hidden(self, num_objects: int, like: Tensor) -> None:
        """Zero hidden states for objects given for the first time (``like: 1*CK*h*w`` sets h, w)."""
        height, width = like.shape[-2:]
        have = 0 if self.hidden is None else self.hidden.shape[1]
        if num_objects > have:
            zeros = torch.zeros(1, num_objects - have, self.hidden_dim, height, width, device=like.device)
            self.hidden = zeros if self.hidden is None else torch.cat([self.hidden, zeros], dim=1)

"""Semi-supervised propagation: segment every frame of a video from its annotated frames.

One engine covers both reference inference cores: DAVIS-style (all objects annotated in frame 0)
and YouTube-VOS-style (objects first annotated at later frames). With a single annotated frame at
index 0 the two reference cores compute the same thing, which is what this engine computes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from ttvos.inference.memory_bank import MemoryBank
from ttvos.inference.precision import Amp, autocast
from ttvos.model.aggregate import PROB_EPS, aggregate
from ttvos.model.padding import Padding, pad, unpad
from ttvos.model.stcn import STCN, KeyFeatures, other_objects


@dataclass(frozen=True)
class FramePrediction:
    """Probabilities of one frame: ``prob: (K+1)*H*W`` (background first), at the input size."""

    index: int
    prob: Tensor


@dataclass
class _ObjectGroup:
    """Objects first annotated in the same frame: they share memory frames, hence one bank."""

    objects: list[int]
    bank: MemoryBank


@dataclass
class _VideoState:
    num_objects: int
    last: int  # the video's last frame (never memorised)
    annotated: int  # how many frames are annotated
    groups: list[_ObjectGroup] = field(default_factory=list)
    last_memory_frame: int = 0

    @property
    def enabled(self) -> list[int]:
        return [obj for group in self.groups for obj in group.objects]


def one_hot(labels: Tensor, num_objects: int) -> Tensor:
    """Label map ``H*W`` (ids 0..K) -> ``K*H*W`` float masks of objects 1..K."""
    ids = torch.arange(1, num_objects + 1, device=labels.device)
    return (labels[None] == ids[:, None, None]).float()


def labels_from_prob(prob: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """``(K+1)*h*w`` probabilities -> ``H*W`` uint8 ids (argmax; ties go to the lower id).

    The probabilities are first resized bilinearly to ``size`` (the original frame size) when given,
    as the reference does before writing the PNGs. The argmax runs as a running comparison over the
    K+1 maps (strictly greater wins, so ties keep the lower id, as ``torch.argmax``): several times
    faster than ``argmax`` over the first dimension on a CPU, and the same ids.
    """
    if size is not None and tuple(prob.shape[-2:]) != tuple(size):
        prob = F.interpolate(prob[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    labels = torch.zeros(prob.shape[1:], dtype=torch.uint8, device=prob.device)
    best = prob[0]
    for index in range(1, prob.shape[0]):
        better = prob[index] > best
        labels.masked_fill_(better, index)
        best = torch.maximum(best, prob[index])
    return labels


class InferenceCore:
    """STCN propagation with a memory bank: L2 affinity, top-k softmax, soft aggregation.

    ``top_k`` memory entries are kept per query position; every ``mem_every`` frames (counted from
    the last memory or annotated frame) a frame becomes permanent memory; with ``include_last`` the
    previous frame is kept as a temporary memory entry. The last frame is never memorised.
    ``max_memory_frames`` (default: no limit, as the reference) keeps only the newest memory frames
    besides the annotated ones (:class:`MemoryBank`). ``amp``: see :mod:`ttvos.inference.precision`.
    """

    def __init__(
        self,
        network: STCN,
        *,
        top_k: int = 20,
        mem_every: int = 5,
        include_last: bool = False,
        amp: Amp = False,
        max_memory_frames: int | None = None,
    ) -> None:
        if top_k < 1 or mem_every < 1:
            raise ValueError(f"top_k and mem_every must be positive, got {top_k} and {mem_every}")
        self.network = network
        self.top_k = top_k
        self.mem_every = mem_every
        self.include_last = include_last
        self.amp = amp
        self.max_memory_frames = max_memory_frames

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def propagate(
        self, frames: Sequence[Tensor], annotations: Mapping[int, Tensor], num_objects: int | None = None
    ) -> Iterator[FramePrediction]:
        """Yield the prediction of every frame from the first annotated one on, in order.

        ``frames[t]: 3*H*W`` ImageNet-normalised (loaded lazily, one at a time);
        ``annotations: {t: H*W int labels}`` with contiguous object ids 1..K (0 = background).
        An annotated frame yields its annotation, softened as the reference softens it.
        """
        if not annotations:
            raise ValueError("at least one annotated frame is needed")
        if num_objects is None:
            num_objects = max(int(labels.max()) for labels in annotations.values())
        state = _VideoState(num_objects, last=len(frames) - 1, annotated=len(annotations))
        first = min(annotations)
        for index in range(first, state.last + 1):
            annotation = annotations.get(index)
            prob = self._step(state, frames[index], index, annotation, is_last=index == state.last)
            yield FramePrediction(index, prob)

    @torch.inference_mode()
    def _step(
        self, state: _VideoState, frame: Tensor, index: int, annotation: Tensor | None, *, is_last: bool
    ) -> Tensor:
        image, padding = pad(frame.to(self.device, non_blocking=True)[None])
        with autocast(self.amp, self.device):
            features = self.network.encode_key(image)
            prob = self._predict(state, features) if state.groups else None
            if annotation is not None:
                prob = self._apply_annotation(state, prob, annotation.to(self.device), padding, index)
                self._memorise(state, image, features, prob, temporary=False, pinned=True)
                state.last_memory_frame = index
            elif not is_last:
                assert prob is not None
                is_memory_frame = index - state.last_memory_frame >= self.mem_every
                if is_memory_frame or self.include_last:
                    self._memorise(state, image, features, prob, temporary=not is_memory_frame)
                if is_memory_frame:
                    state.last_memory_frame = index
        assert prob is not None
        return unpad(prob, padding)

    def _predict(self, state: _VideoState, features: KeyFeatures) -> Tensor:
        """Probabilities ``(K+1)*H*W`` of the enabled objects from memory (others stay 0)."""
        object_prob = torch.cat(
            [
                torch.sigmoid(self.network.decode(g.bank.read(self.network, features.key), features))
                for g in state.groups
            ]
        )[:, 0].float()
        merged = aggregate(object_prob, dim=0)
        prob = merged.new_zeros(state.num_objects + 1, *merged.shape[1:])
        prob[0] = merged[0]
        prob[state.enabled] = merged[1:]
        return prob

    def _apply_annotation(
        self, state: _VideoState, prob: Tensor | None, labels: Tensor, padding: Padding, index: int
    ) -> Tensor:
        """Overwrite the annotated objects, keep earlier objects outside their masks, re-aggregate."""
        masks = F.pad(one_hot(labels, state.num_objects), padding)
        if prob is None:
            prob = masks.new_zeros(state.num_objects + 1, *masks.shape[1:])
            prob[0] = PROB_EPS
        present = [obj for obj in range(1, state.num_objects + 1) if bool(masks[obj - 1].any())]
        prob[:, masks.sum(dim=0) > 0.5] = 0
        prob[present] = masks[[obj - 1 for obj in present]]
        new = [obj for obj in present if obj not in state.enabled]
        if new:
            state.groups.append(_ObjectGroup(new, self._bank(state, index)))
        return aggregate(prob[1:], dim=0)

    def _bank(self, state: _VideoState, first: int) -> MemoryBank:
        """A bank starting at frame ``first``, its buffers sized for every frame it can memorise."""
        frames = state.annotated + (state.last - first) // self.mem_every + 1
        if self.max_memory_frames is not None:
            frames = min(frames, state.annotated + self.max_memory_frames)
        return MemoryBank(self.top_k, capacity=frames + self.include_last, max_frames=self.max_memory_frames)

    def _memorise(
        self,
        state: _VideoState,
        image: Tensor,
        features: KeyFeatures,
        prob: Tensor,
        *,
        temporary: bool,
        pinned: bool = False,
    ) -> None:
        """Encode the frame with its soft masks and add it to every group's bank (``pinned``: an
        annotated frame, which a memory cap never drops)."""
        enabled = state.enabled
        masks = prob[enabled][:, None]  # E*1*H*W
        values = self.network.encode_value(image, features.f16, masks, other_objects(masks))
        row = 0
        for group in state.groups:
            count = len(group.objects)
            group.bank.add(features.key, values[row : row + count], temporary=temporary, pinned=pinned)
            row += count

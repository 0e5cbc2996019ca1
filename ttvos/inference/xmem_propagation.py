"""XMem propagation: segment every frame of a video from its annotated frames (XMem's ``InferenceCore``).

Same contract as :class:`ttvos.inference.propagation.InferenceCore` (lazy frames, annotations as
contiguous label maps, one :class:`FramePrediction` per frame from the first annotated one on),
so the same segmentation path can drive either model. Per frame (``t`` counted from the first
annotated frame), as in XMem's ``step``:

* a frame is a memory frame every ``mem_every`` frames and whenever a mask is given, never the last;
* every frame after the first is segmented unless its mask gives all known objects: memory
  readout, decoder, soft aggregation; the decoder also updates the hidden state (*normal update*);
* a given mask overwrites its objects (the others keep their prediction outside it); objects
  seen for the first time get a zero hidden state and form a new object group;
* on a memory frame the value encoder reads the soft probabilities; on a *deep update* frame it
  also rewrites the hidden state (with memory frames when ``deep_update_every < 0``, otherwise
  every ``deep_update_every`` frames at the next memory frame, in addition to normal updates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ttvos.config import XMemInferenceConfig
from ttvos.errors import UserError
from ttvos.inference.precision import Amp, autocast
from ttvos.inference.propagation import FramePrediction, one_hot
from ttvos.inference.xmem_memory import XMemMemory
from ttvos.model.aggregate import aggregate
from ttvos.model.padding import pad, unpad
from ttvos.model.xmem import XMem


class XMemVideo:
    """One video's state: the memories, the objects seen so far and the frame counters.

    Objects are kept in the order they were first given (XMem's object groups need it); outputs
    use the contiguous ids 1..K of the annotations.
    """

    def __init__(
        self, network: XMem, config: XMemInferenceConfig, num_objects: int, *, count_long_term_usage: bool
    ) -> None:
        self.network = network
        self.config = config
        self.num_objects = num_objects
        self.memory = XMemMemory(config, network.hidden_dim, count_long_term_usage=count_long_term_usage)
        self.objects: list[int] = []  # contiguous ids, in order of first appearance
        self._t = -1  # steps taken (t of the current frame)
        self._last_memory_t = 0
        self._last_deep_update_t = -config.deep_update_every

    @torch.inference_mode()
    def step(self, frame: Tensor, annotation: Tensor | None, *, index: int, is_last: bool) -> Tensor:
        """Probabilities ``(K+1)*H*W`` (background first) of ``frame: 3*H*W``.

        ``annotation: H*W`` contiguous ids (0 = not given) or None; ``index`` labels memory events.
        Objects not yet given have probability 0.
        """
        self._t += 1
        t, config = self._t, self.config
        image, padding = pad(frame[None])
        given = self._given_objects(annotation)
        is_memory_frame = (
            t - self._last_memory_t >= config.mem_every or annotation is not None
        ) and not is_last
        needs_segmentation = t > 0 and (annotation is None or len(given) != len(self.objects))
        synchronised = config.deep_update_every < 0
        if synchronised:
            is_deep_update = is_memory_frame
        else:
            is_deep_update = t - self._last_deep_update_t >= config.deep_update_every and not is_last
        is_normal_update = (not synchronised or not is_deep_update) and not is_last

        features = self.network.encode_key(
            image,
            need_shrinkage=is_memory_frame,
            need_selection=config.enable_long_term or needs_segmentation,
        )
        prob = None
        if needs_segmentation:
            readout = self.memory.read(features.key, features.selection)[None]
            assert self.memory.hidden is not None
            logits, hidden = self.network.decode(
                readout, self.memory.hidden, features, update_hidden=is_normal_update
            )
            prob = aggregate(torch.sigmoid(logits), dim=1)[0]  # (K_old+1)*H*W
            if is_normal_update:
                self.memory.hidden = hidden
        if annotation is not None:
            prob = self._apply_annotation(prob, F.pad(self._masks(annotation), padding), given)
            self.memory.add_hidden(len(self.objects), features.key)
        assert prob is not None
        if is_memory_frame:
            assert self.memory.hidden is not None and features.shrinkage is not None
            value, hidden = self.network.encode_value(
                image, features.f16, self.memory.hidden, prob[1:][None], deep_update=is_deep_update
            )
            selection = features.selection if config.enable_long_term else None
            self.memory.add(
                features.key, features.shrinkage, value, selection, num_objects=len(self.objects), frame=index
            )
            self._last_memory_t = t
            if is_deep_update:
                self.memory.hidden = hidden
                self._last_deep_update_t = t
        out = prob.new_zeros(self.num_objects + 1, *prob.shape[1:])
        out[[0, *self.objects]] = prob
        return unpad(out, padding)

    def _given_objects(self, annotation: Tensor | None) -> list[int]:
        """Positions (order of appearance) of the objects in ``annotation``; new ones are appended."""
        if annotation is None:
            return []
        present = [int(i) for i in torch.unique(annotation).tolist() if i != 0]
        if present and max(present) > self.num_objects:
            raise UserError(
                f"an annotation holds object id {max(present)} but the video has {self.num_objects}"
            )
        self.objects.extend(obj for obj in present if obj not in self.objects)
        return [self.objects.index(obj) for obj in present]

    def _masks(self, annotation: Tensor) -> Tensor:
        """``K_seen*H*W`` float masks of ``annotation`` in order of appearance (zeros for absent objects)."""
        return one_hot(annotation, self.num_objects)[[obj - 1 for obj in self.objects]]

    @staticmethod
    def _apply_annotation(prob: Tensor | None, masks: Tensor, given: list[int]) -> Tensor:
        """Given objects take their mask; the others keep their prediction outside the masks."""
        if prob is not None:
            predicted = prob[1:]
            predicted[:, masks.sum(dim=0) > 0.5] = 0
            masks = masks.type_as(predicted)
            kept = [i for i in range(predicted.shape[0]) if i not in given]
            masks[kept] = predicted[kept]
        return aggregate(masks, dim=0)


class XMemInferenceCore:
    """XMem propagation over whole videos with the options of XMem's ``eval.py``."""

    def __init__(self, network: XMem, config: XMemInferenceConfig | None = None, *, amp: Amp = False) -> None:
        config = config or XMemInferenceConfig()
        problems = config.problems()
        if problems:
            raise UserError(f"XMem inference: {problems[0]}")
        self.network = network
        self.config = config
        self.amp = amp

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def start(self, num_frames: int, num_objects: int) -> XMemVideo:
        """A fresh video state; long-term usage is counted as ``eval.py`` decides for ``num_frames``."""
        usage = self.config.counts_long_term_usage(num_frames)
        return XMemVideo(self.network, self.config, num_objects, count_long_term_usage=usage)

    def propagate(
        self, frames: Sequence[Tensor], annotations: Mapping[int, Tensor], num_objects: int | None = None
    ) -> Iterator[FramePrediction]:
        """Yield the prediction of every frame from the first annotated one on, in order.

        ``frames[t]: 3*H*W`` ImageNet-normalised (loaded lazily, one at a time);
        ``annotations: {t: H*W int labels}`` with contiguous object ids 1..K (0 = background).
        """
        if not annotations:
            raise ValueError("at least one annotated frame is needed")
        if num_objects is None:
            num_objects = max(int(labels.max()) for labels in annotations.values())
        video = self.start(len(frames), num_objects)
        last = len(frames) - 1
        device = self.device
        for index in range(min(annotations), last + 1):
            annotation = annotations.get(index)
            with autocast(self.amp, device):
                prob = video.step(
                    frames[index].to(device, non_blocking=True),
                    None if annotation is None else annotation.to(device),
                    index=index,
                    is_last=index == last,
                )
            yield FramePrediction(index, prob.float())

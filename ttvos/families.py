"""Model families: STCN and XMem behind one interface, and the only place that lists them.

A family says how to build its network from a checkpoint (or from the deterministic stand-in
weights), which engine segments whole videos with it, which differentiable passes test-time
training runs through it, and which submodules each freezing option names. The core picks the
family once, from a config's ``model`` key (``FAMILIES[config.model]``) or from a network already
built (:func:`family_of`), and never tests which model it runs. What a *config* may say per model
(its inference options, default weights, freezing options) is ``ttvos.config.MODELS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from ttvos.config import MODELS, InferenceConfig, InferenceSettings, ModelName, XMemInferenceConfig
from ttvos.inference.precision import Amp
from ttvos.inference.propagation import FramePrediction, InferenceCore
from ttvos.inference.xmem_propagation import XMemInferenceCore
from ttvos.model import xmem_training
from ttvos.model.checkpoint import load_stcn
from ttvos.model.standin import standin_state_dict
from ttvos.model.stcn import STCN, KeyFeatures
from ttvos.model.training import Prediction, aggregate_objects, propagate
from ttvos.model.xmem import XMem, load_xmem

Checkpoint = str | PathLike[str] | Mapping[str, Tensor]


class PropagationEngine(Protocol):
    """Segments whole videos (``InferenceCore``, ``XMemInferenceCore``): what ``segment_video``
    and the bench drive, whatever the model."""

    def propagate(
        self, frames: Sequence[Tensor], annotations: Mapping[int, Tensor], num_objects: int | None = None
    ) -> Iterator[FramePrediction]:
        """Frames ``3*H*W`` and annotations ``{t: H*W}`` -> ``(K+1)*H*W`` probabilities per frame."""
        ...


@dataclass(frozen=True)
class TrainingPasses:
    """A family's differentiable passes, as its offline training runs them (full-softmax read-out).

    The test-time training losses reach the network only through these:
    ``encode(network, images: T*3*H*W)`` -> the key features of the T frames; ``reverse(features)``
    -> the same features in reverse time order; ``propagate(network, images, features, masks,
    others)`` -> one :class:`Prediction` per frame 1..T-1 from frame 0's masks ``O*1*H*W``;
    ``reconstruct(network, image: 1*3*H*W, masks, others)`` -> the frame decoded from its own
    masks' value, without any memory read.
    """

    encode: Callable[[Any, Tensor], Any]
    reverse: Callable[[Any], Any]
    propagate: Callable[[Any, Tensor, Any, Tensor, Tensor], list[Prediction]]
    reconstruct: Callable[[Any, Tensor, Tensor, Tensor], Prediction]


@dataclass(frozen=True)
class ModelFamily:
    """One network family: building, segmenting, training passes and freezing names."""

    name: ModelName  # the config's `model` value
    label: str  # its name in messages
    network: type[nn.Module]
    load: Callable[[Checkpoint, torch.device | str], nn.Module]  # checkpoint, device -> eval-mode network
    make_engine: Callable[[Any, Any, Amp], PropagationEngine]  # network, settings, amp
    passes: TrainingPasses
    freezing: Mapping[str, tuple[str, ...]]  # module freezing option -> its submodules ("*": all)

    def build(self, checkpoint: Checkpoint | None, device: torch.device | str = "cpu") -> nn.Module:
        """The network holding ``checkpoint``'s weights; ``None``: the deterministic stand-in weights."""
        return self.load(standin_state_dict(family=self.name) if checkpoint is None else checkpoint, device)

    def engine(
        self, network: nn.Module, settings: InferenceSettings | None = None, *, amp: Amp = False
    ) -> PropagationEngine:
        """The video engine running ``network`` with ``settings`` (default: the model's defaults)."""
        expected = MODELS[self.name].inference
        settings = expected() if settings is None else settings
        if not isinstance(settings, expected):
            raise TypeError(f"{self.label} runs with {expected.__name__}, not {type(settings).__name__}")
        return self.make_engine(network, settings, amp)


def _stcn_engine(network: STCN, settings: InferenceConfig, amp: Amp) -> InferenceCore:
    return InferenceCore(
        network,
        top_k=settings.top_k,
        mem_every=settings.mem_every,
        include_last=settings.include_last,
        amp=amp,
        max_memory_frames=settings.max_memory_frames,
    )


def _xmem_engine(network: XMem, settings: XMemInferenceConfig, amp: Amp) -> XMemInferenceCore:
    return XMemInferenceCore(network, settings, amp=amp)


def _stcn_encode(network: STCN, images: Tensor) -> KeyFeatures:
    return network.encode_key(images)


def _stcn_reconstruct(network: STCN, image: Tensor, masks: Tensor, others: Tensor) -> Prediction:
    """The key projection is computed but unused, so it receives no gradient (as in the reference)."""
    features = network.encode_key(image)
    values = network.encode_value(image, features.f16, masks, others)
    return aggregate_objects(torch.sigmoid(network.decode(values, features)))


_STCN_FREEZING = {
    "enc": ("key_encoder", "value_encoder"),
    "dec": ("decoder",),
    "all_keys": ("key_encoder", "key_proj", "key_comp"),
    "key_enc": ("key_encoder",),
    "val_enc": ("value_encoder",),
    "key_proj": ("key_proj",),
    "key_comp": ("key_comp",),
    "net": ("*",),
}
# XMem's modules of the same names (value_encoder includes the hidden reinforcer, decoder the
# hidden updater, key_proj the shrinkage and selection heads); it has no key_comp, since its
# decoder reads f16 directly.
_XMEM_FREEZING = {
    option: tuple(name for name in names if name != "key_comp")
    for option, names in _STCN_FREEZING.items()
    if option != "key_comp"
}

FAMILIES: dict[ModelName, ModelFamily] = {
    "stcn": ModelFamily(
        name="stcn",
        label="STCN",
        network=STCN,
        load=load_stcn,
        make_engine=_stcn_engine,
        passes=TrainingPasses(_stcn_encode, KeyFeatures.flip, propagate, _stcn_reconstruct),
        freezing=_STCN_FREEZING,
    ),
    "xmem": ModelFamily(
        name="xmem",
        label="XMem",
        network=XMem,
        load=load_xmem,
        make_engine=_xmem_engine,
        passes=TrainingPasses(
            xmem_training.encode, xmem_training.reverse, xmem_training.propagate, xmem_training.reconstruct
        ),
        freezing=_XMEM_FREEZING,
    ),
}


def family_of(network: nn.Module) -> ModelFamily:
    """The family of a network already built (segmentation, losses and freezing start from one)."""
    for family in FAMILIES.values():
        if isinstance(network, family.network):
            return family
    raise TypeError(f"{type(network).__name__} is not the network of a model family ({', '.join(FAMILIES)})")

"""The XMem network (Cheng & Schwing, ECCV 2022): weights and single-frame computations only.

XMem extends STCN's key/value matching with a per-object hidden state (the *sensory memory*,
``B*K*CH*h*w``) carried from frame to frame by the decoder and refreshed by the value encoder, a
*shrinkage* term per memory element and a *selection* term per query element in the similarity.
Working and long-term memory live in :mod:`ttvos.inference.xmem_memory`; the network is used
through ``encode_key``, ``encode_value`` and ``decode`` plus :func:`similarity`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike

import torch
from torch import Tensor, nn

from ttvos.model.checkpoint import StateDict, load_network
from ttvos.model.encoders import KeyEncoder
from ttvos.model.sizes import FULL, ModelSize
from ttvos.model.xmem_modules import XMemDecoder, XMemKeyProjection, XMemValueEncoder

HIDDEN_DIM = 64  # the official networks' sensory-memory channels


@dataclass
class XMemKeyFeatures:
    """What the key encoder computes for a batch of frames (stride in the name).

    ``key: B*CK*h*w`` (not normalised), ``shrinkage: B*1*h*w`` (>= 1) and ``selection: B*CK*h*w``
    (in (0, 1)) when asked for, ``f16: B*1024*h*w``, ``f8: B*512*2h*2w``, ``f4: B*256*4h*4w``.
    """

    key: Tensor
    shrinkage: Tensor | None
    selection: Tensor | None
    f16: Tensor
    f8: Tensor
    f4: Tensor

    def take(self, rows: Tensor | slice) -> XMemKeyFeatures:
        """Features of the batch items ``rows`` (an index tensor or a slice), as STCN's ``take``."""
        return self._map(lambda t: t[rows])

    def frame(self, index: int) -> XMemKeyFeatures:
        """Features of batch item ``index``, keeping a batch dimension of 1."""
        return self.take(slice(index, index + 1))

    def flip(self) -> XMemKeyFeatures:
        """Reverse the batch (= time) order; the backward half of the mask cycle uses it."""
        return self._map(lambda t: t.flip(0))

    def _map(self, function: Callable[[Tensor], Tensor]) -> XMemKeyFeatures:
        values = (getattr(self, f.name) for f in dataclasses.fields(self))
        return XMemKeyFeatures(*(None if t is None else function(t) for t in values))


def other_objects(masks: Tensor) -> Tensor:
    """For each object the sum of the others' masks, summed as XMem sums them: ``B*K*H*W -> B*K*H*W``."""
    num_objects = masks.shape[1]
    if num_objects == 1:
        return torch.zeros_like(masks)
    return torch.cat(
        [
            masks[:, [j for j in range(num_objects) if j != i]].sum(dim=1, keepdim=True)
            for i in range(num_objects)
        ],
        dim=1,
    )


def similarity(
    memory_key: Tensor, memory_shrinkage: Tensor | None, query_key: Tensor, query_selection: Tensor | None
) -> Tensor:
    """XMem's anisotropic L2 similarity ``-s_i * sum_c e_cj (k_ci - q_cj)^2 / sqrt(CK)``: ``B*N*M``.

    ``memory_key: B*CK*N``, ``memory_shrinkage: B*1*N``, ``query_key, query_selection: B*CK*M``.
    The square is expanded (a^2 - 2ab + b^2) in this order, as the official code does: float32
    rounding of the similarity decides near-ties of the top-k. Without a selection the ``b^2``
    term, constant per query, is dropped (STCN's affinity); without a shrinkage it is 1.
    """
    key_dim = memory_key.shape[1]
    if query_selection is not None:
        memory_key_t = memory_key.transpose(1, 2)
        a_sq = memory_key_t.pow(2) @ query_selection
        two_ab = 2 * (memory_key_t @ (query_key * query_selection))
        b_sq = (query_selection * query_key.pow(2)).sum(1, keepdim=True)
        result = -a_sq + two_ab - b_sq
    else:
        a_sq = memory_key.pow(2).sum(1).unsqueeze(2)
        two_ab = 2 * (memory_key.transpose(1, 2) @ query_key)
        result = -a_sq + two_ab
    if memory_shrinkage is not None:
        return result * memory_shrinkage.flatten(start_dim=1).unsqueeze(2) / math.sqrt(key_dim)
    return result / math.sqrt(key_dim)


class XMem(nn.Module):
    """XMem; submodule names give the official state-dict keys (412 entries at the full size).

    Channel counts in the docstrings are the full size's; ``size`` scales them as for STCN and
    ``hidden_dim`` is the sensory memory's width (0: no hidden state, as XMem allows).
    """

    def __init__(self, size: ModelSize = FULL, hidden_dim: int = HIDDEN_DIM) -> None:
        super().__init__()
        self.size = size
        self.hidden_dim = hidden_dim
        self.key_encoder = KeyEncoder(size)
        self.value_encoder = XMemValueEncoder(size, hidden_dim)
        self.key_proj = XMemKeyProjection(size.f16_dim, size.key_dim)
        self.decoder = XMemDecoder(size, hidden_dim)

    def encode_key(
        self, image: Tensor, *, need_shrinkage: bool = True, need_selection: bool = True
    ) -> XMemKeyFeatures:
        """``image: B*3*H*W`` (ImageNet-normalised, H and W multiples of 16) -> key features.

        Shrinkage is needed for memory frames only, selection for queries (and for long-term
        memory); leaving them out saves two convolutions.
        """
        f16, f8, f4 = self.key_encoder(image)
        shrinkage = self.key_proj.shrinkage(f16) if need_shrinkage else None
        selection = self.key_proj.selection(f16) if need_selection else None
        return XMemKeyFeatures(self.key_proj(f16), shrinkage, selection, f16, f8, f4)

    def encode_value(
        self,
        image: Tensor,
        f16: Tensor,
        hidden: Tensor,
        masks: Tensor,
        others: Tensor | None = None,
        *,
        deep_update: bool = True,
    ) -> tuple[Tensor, Tensor]:
        """Memory values of K objects: ``image: B*3*H*W, f16: B*1024*h*w, hidden: B*K*CH*h*w``.

        ``masks: B*K*H*W`` are soft object probabilities (no background); ``others: B*K*H*W`` the
        other objects' masks, summed from ``masks`` as XMem does when not given (training samples
        give them: they may count objects that are not trained). Returns the value ``B*K*CV*h*w``
        and the hidden state, refreshed from the value iff ``deep_update``.
        """
        others = other_objects(masks) if others is None else others
        return self.value_encoder(image, f16, hidden, masks, others, deep_update=deep_update)

    def decode(
        self, readout: Tensor, hidden: Tensor, query: XMemKeyFeatures, *, update_hidden: bool = True
    ) -> tuple[Tensor, Tensor]:
        """Per-object logits ``B*K*H*W`` (before the sigmoid) and the hidden state ``B*K*CH*h*w``.

        ``readout: B*K*CV*h*w`` is the memory read for the query frame; the hidden state is
        updated by the decoder iff ``update_hidden`` (otherwise returned unchanged).
        """
        return self.decoder(query.f16, query.f8, query.f4, hidden, readout, update_hidden=update_hidden)


def network_dims(state: Mapping[str, Tensor], size: ModelSize = FULL) -> tuple[ModelSize, int]:
    """The size and hidden width a state dict was trained with, read from its tensors as XMem does.

    Key and value widths come from ``key_proj`` and the value fuser; a state dict without the
    decoder's hidden updater has no sensory memory (``hidden_dim`` 0).
    """
    key = state.get("key_proj.key_proj.weight")
    value = state.get("value_encoder.fuser.block2.conv2.weight")
    transform = state.get("decoder.hidden_update.transform.weight")
    size = dataclasses.replace(
        size,
        key_dim=size.key_dim if key is None else key.shape[0],
        value_dim=size.value_dim if value is None else value.shape[0],
    )
    return size, 0 if transform is None else transform.shape[0] // 3


def _build(size: ModelSize, state: StateDict) -> XMem:
    size, hidden_dim = network_dims(state, size)
    return XMem(size, hidden_dim)


def load_xmem(
    checkpoint: str | PathLike[str] | Mapping[str, Tensor],
    device: torch.device | str = "cpu",
    *,
    size: ModelSize = FULL,
) -> XMem:
    """Build an XMem in eval mode on ``device`` holding the checkpoint's weights.

    Takes the official ``XMem.pth``, ``XMem-s012.pth`` and ``XMem-s2.pth`` unchanged; widths are
    read from the tensors, and a 4-channel ``value_encoder.conv1`` (a single-object checkpoint)
    gets a zero "other objects" channel, as XMem's ``load_weights(init_as_zero_if_needed=True)``.
    """
    return load_network(_build, checkpoint, device, size=size, family="XMem")

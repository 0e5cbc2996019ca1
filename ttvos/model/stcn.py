"""The STCN network (Cheng et al., 2021): weights and single-frame computations only.

Memory management lives in :mod:`ttvos.inference` (propagation) and :mod:`ttvos.ttt` (training
passes); both use the network through four calls: ``encode_key``, ``encode_value``, ``read`` and
``decode``. A different matching-based model provides the same four calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttvos.model.decoder import Decoder
from ttvos.model.encoders import KeyEncoder, KeyProjection, ValueEncoder
from ttvos.model.matching import l2_affinity, read_memory
from ttvos.model.sizes import FULL, ModelSize


@dataclass
class KeyFeatures:
    """Everything the key encoder computes for a batch of frames (stride in the name).

    ``key: B*64*h*w`` matching key, ``f16_thin: B*512*h*w`` compressed f16 for the decoder,
    ``f16: B*1024*h*w`` (fed to the value encoder), ``f8: B*512*2h*2w``, ``f4: B*256*4h*4w``.
    """

    key: Tensor
    f16_thin: Tensor
    f16: Tensor
    f8: Tensor
    f4: Tensor

    def frame(self, index: int) -> KeyFeatures:
        """Features of batch item ``index``, keeping a batch dimension of 1."""
        return self.take(slice(index, index + 1))

    def take(self, rows: Tensor | slice) -> KeyFeatures:
        """Features of the batch items ``rows`` (an index tensor or a slice)."""
        return KeyFeatures(*(t[rows] for t in self._tensors()))

    def flip(self) -> KeyFeatures:
        """Reverse the batch (= time) order; the backward half of the mask cycle uses it."""
        return KeyFeatures(*(t.flip(0) for t in self._tensors()))

    def _tensors(self) -> tuple[Tensor, ...]:
        return (self.key, self.f16_thin, self.f16, self.f8, self.f4)


def other_objects(masks: Tensor) -> Tensor:
    """For each object, the sum of the *other* objects' masks: ``K*... -> K*...``."""
    return masks.sum(dim=0, keepdim=True) - masks


class STCN(nn.Module):
    """Space-Time Correspondence Network; submodule names give the official state-dict keys.

    Channel counts in the docstrings are those of the full (official) size; ``size`` scales them.
    """

    def __init__(self, size: ModelSize = FULL) -> None:
        super().__init__()
        self.size = size
        self.key_encoder = KeyEncoder(size)
        self.value_encoder = ValueEncoder(size)
        self.key_proj = KeyProjection(size.f16_dim, size.key_dim)
        self.key_comp = nn.Conv2d(size.f16_dim, size.value_dim, kernel_size=3, padding=1)
        self.decoder = Decoder(size)

    def encode_key(self, image: Tensor) -> KeyFeatures:
        """``image: B*3*H*W`` (ImageNet-normalised, H and W multiples of 16) -> key features."""
        f16, f8, f4 = self.key_encoder(image)
        return KeyFeatures(self.key_proj(f16), self.key_comp(f16), f16, f8, f4)

    def encode_value(self, image: Tensor, f16: Tensor, masks: Tensor, others: Tensor) -> Tensor:
        """Memory values of K objects in one frame.

        ``image: 1*3*H*W, f16: 1*1024*h*w, masks, others: K*1*H*W -> K*512*h*w``; ``others`` is
        the (soft) mask of every other object, see :func:`other_objects`.
        """
        num_objects = masks.shape[0]
        image = image.expand(num_objects, -1, -1, -1)
        f16 = f16.expand(num_objects, -1, -1, -1)
        return self.value_encoder(image, f16, masks, others)

    @staticmethod
    def affinity(memory_key: Tensor, query_key: Tensor) -> Tensor:
        """Raw (un-normalised) affinity ``B*N*M`` between memory and query keys ``B*CK*N|M``."""
        return l2_affinity(memory_key, query_key)

    @staticmethod
    def read(weights: Tensor, memory_value: Tensor) -> Tensor:
        """Read-out ``B*CV*M`` from normalised affinity weights ``B*N*M`` and values ``B*CV*N``."""
        return read_memory(weights, memory_value)

    def decode(self, readout: Tensor, query: KeyFeatures, index: Tensor | None = None) -> Tensor:
        """Per-object mask logits: ``readout: K*512*h*w`` + query frames -> ``K*1*H*W``.

        One query frame serves all K objects; with B frames, ``index: K`` gives each object's frame.
        """
        f16_thin = query.f16_thin if index is None else query.f16_thin[index]
        f16_thin = f16_thin.expand(readout.shape[0], -1, -1, -1)
        return self.decoder(torch.cat([readout, f16_thin], dim=1), query.f8, query.f4, index)

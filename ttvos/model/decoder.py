"""STCN mask decoder: memory read-out + query features -> one logit map per object."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ttvos.model.blocks import ResBlock, UpsampleBlock
from ttvos.model.sizes import FULL, ModelSize


class Decoder(nn.Module):
    """``f16: K*1024*h*w`` (read-out ++ compressed key features), ``f8``, ``f4`` -> ``K*1*4h*4w``.

    ``f8``/``f4`` may have batch 1: they are broadcast over the K objects after the skip convs,
    which is how the official evaluation network shares them; with several frames, ``index`` says
    which frame each object row belongs to (the skip convs still run once per frame). Channel
    counts are the full size's.
    """

    def __init__(self, size: ModelSize = FULL) -> None:
        super().__init__()
        d16, d8 = size.decoder_dims
        self.compress = ResBlock(2 * size.value_dim, d16)
        self.up_16_8 = UpsampleBlock(size.f8_dim, d16, d8)
        self.up_8_4 = UpsampleBlock(size.f4_dim, d8, d8)
        self.pred = nn.Conv2d(d8, 1, kernel_size=3, padding=1)

    def forward(self, f16: Tensor, f8: Tensor, f4: Tensor, index: Tensor | None = None) -> Tensor:
        """``index: K`` (optional): the frame of ``f8``/``f4`` each of the K rows of ``f16`` belongs to."""
        x = self.compress(f16)
        x = self.up_16_8(f8, x, index)
        x = self.up_8_4(f4, x, index)
        x = self.pred(F.relu(x))
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)

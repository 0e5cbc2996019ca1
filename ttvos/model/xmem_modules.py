"""Building blocks of the XMem network (Cheng & Schwing, ECCV 2022) that STCN does not have.

XMem keeps a batch *and* an object dimension on everything that depends on a mask ("group"
features, ``B*K*C*h*w``); image features are ``B*C*h*w`` and are shared by the K objects. The
blocks here flatten ``B*K`` into one batch around STCN's blocks (:mod:`ttvos.model.blocks`), whose
computations and state-dict names XMem shares. Attribute names give the official state-dict keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ttvos.model.blocks import FeatureFusionBlock, UpsampleBlock
from ttvos.model.encoders import KeyProjection, ValueEncoder
from ttvos.model.sizes import FULL, ModelSize


def per_object_image(image: Tensor, num_objects: int) -> Tensor:
    """Repeat image features for each object: ``B*C*h*w -> (B*K)*C*h*w`` (object-major per item)."""
    return image.unsqueeze(1).expand(-1, num_objects, *image.shape[1:]).flatten(0, 1)


def fuse(fuser: FeatureFusionBlock, f16: Tensor, g: Tensor) -> Tensor:
    """XMem's feature fusion: ``cat(f16, g)`` (image first), res-block, CBAM, res-block.

    ``f16: B*C*h*w, g: B*K*Cg*h*w -> B*K*Cout*h*w``. STCN's block concatenates its two inputs in
    call order, so passing the image features first gives XMem's channel order.
    """
    batch, num_objects = g.shape[:2]
    out = fuser(per_object_image(f16, num_objects), g.flatten(0, 1))
    return out.view(batch, num_objects, *out.shape[1:])


def upsample(block: UpsampleBlock, skip: Tensor, g: Tensor) -> Tensor:
    """Decoder stage: ``skip: B*Cs*2h*2w`` (image features), ``g: B*K*C*h*w -> B*K*Cout*2h*2w``.

    The skip conv runs once per image and is added to every object's upsampled features.
    """
    batch, num_objects = g.shape[:2]
    up = F.interpolate(g.flatten(0, 1), scale_factor=2, mode="bilinear", align_corners=False)
    x = up.view(batch, num_objects, *up.shape[1:]) + block.skip_conv(skip).unsqueeze(1)
    out = block.out_conv(x.flatten(0, 1))
    return out.view(batch, num_objects, *out.shape[1:])


def downsample(g: Tensor, ratio: float) -> Tensor:
    """Area (average) downsampling of group features ``B*K*C*H*W`` by ``ratio`` (< 1)."""
    out = F.interpolate(g.flatten(0, 1), scale_factor=ratio, mode="area")
    return out.view(*g.shape[:2], *out.shape[1:])


def gated_update(transform: nn.Conv2d, x: Tensor, hidden: Tensor) -> Tensor:
    """XMem's GRU variant on the sensory memory: ``x: B*K*C*h*w, hidden: B*K*CH*h*w -> B*K*CH*h*w``.

    One 3x3 conv of ``cat(x, hidden)`` gives [forget, update, candidate] (CH channels each); the
    candidate is not gated by the forget gate, as in the official code (kept for its weights).
    """
    hidden_dim = hidden.shape[2]
    values = transform(torch.cat([x, hidden], dim=2).flatten(0, 1))
    values = values.view(*x.shape[:2], *values.shape[1:])
    forget = torch.sigmoid(values[:, :, :hidden_dim])
    update = torch.sigmoid(values[:, :, hidden_dim : 2 * hidden_dim])
    candidate = torch.tanh(values[:, :, 2 * hidden_dim :])
    return forget * hidden * (1 - update) + update * candidate


class HiddenReinforcer(nn.Module):
    """Deep update of the hidden state from a new memory value (``value_encoder.hidden_reinforce``)."""

    def __init__(self, value_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.transform = nn.Conv2d(value_dim + hidden_dim, hidden_dim * 3, kernel_size=3, padding=1)

    def forward(self, value: Tensor, hidden: Tensor) -> Tensor:
        """``value: B*K*CV*h*w, hidden: B*K*CH*h*w -> B*K*CH*h*w``."""
        return gated_update(self.transform, value, hidden)


class HiddenUpdater(nn.Module):
    """Normal update of the hidden state from the decoder's features at strides 16, 8 and 4."""

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = nn.Conv2d(g_dims[0], mid_dim, kernel_size=1)
        self.g8_conv = nn.Conv2d(g_dims[1], mid_dim, kernel_size=1)
        self.g4_conv = nn.Conv2d(g_dims[2], mid_dim, kernel_size=1)
        self.transform = nn.Conv2d(mid_dim + hidden_dim, hidden_dim * 3, kernel_size=3, padding=1)

    def forward(self, g16: Tensor, g8: Tensor, g4: Tensor, hidden: Tensor) -> Tensor:
        """``g16: B*K*C16*h*w``, ``g8`` at 2h*2w, ``g4`` (with the logits) at 4h*4w -> new hidden."""
        batch, num_objects = g16.shape[:2]
        x = (
            self.g16_conv(g16.flatten(0, 1))
            + self.g8_conv(downsample(g8, 1 / 2).flatten(0, 1))
            + self.g4_conv(downsample(g4, 1 / 4).flatten(0, 1))
        )
        return gated_update(self.transform, x.view(batch, num_objects, *x.shape[1:]), hidden)


class XMemKeyProjection(KeyProjection):
    """STCN's key projection plus XMem's shrinkage (``d_proj``) and selection (``e_proj``) heads."""

    def __init__(self, in_dim: int, key_dim: int) -> None:
        super().__init__(in_dim, key_dim)
        self.d_proj = nn.Conv2d(in_dim, 1, kernel_size=3, padding=1)
        self.e_proj = nn.Conv2d(in_dim, key_dim, kernel_size=3, padding=1)

    def shrinkage(self, f16: Tensor) -> Tensor:
        """``B*1*h*w``, >= 1: scales a memory element's similarities (sharper matching)."""
        return self.d_proj(f16) ** 2 + 1

    def selection(self, f16: Tensor) -> Tensor:
        """``B*CK*h*w`` in (0, 1): weights the key channels of a query element's distances."""
        return torch.sigmoid(self.e_proj(f16))


def _drop_conv_biases(module: nn.Module) -> None:
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            conv.register_parameter("bias", None)


class XMemValueEncoder(ValueEncoder):
    """STCN's value encoder with torchvision's bias-free ResNet-18 convs and a hidden reinforcer.

    Inputs per object: ``cat(image, mask, others)`` (5 channels) -> ResNet-18 to layer3 (stride
    16) -> fused with f16 -> the memory value; on a deep update the value also refreshes the hidden
    state. The stem applies max-pooling before the ReLU, as the official code (same result).
    """

    def __init__(self, size: ModelSize = FULL, hidden_dim: int = 64) -> None:
        super().__init__(size)
        for stage in (self.conv1, self.layer1, self.layer2, self.layer3):
            _drop_conv_biases(stage)
        self.hidden_reinforce = HiddenReinforcer(size.value_dim, hidden_dim) if hidden_dim > 0 else None

    def forward(  # type: ignore[override]
        self, image: Tensor, f16: Tensor, hidden: Tensor, masks: Tensor, others: Tensor, *, deep_update: bool
    ) -> tuple[Tensor, Tensor]:
        """``image: B*3*H*W, f16: B*C16*h*w, hidden: B*K*CH*h*w, masks, others: B*K*H*W``.

        Returns the value ``B*K*CV*h*w`` and the hidden state (refreshed iff ``deep_update``).
        """
        batch, num_objects = masks.shape[:2]
        stacked = torch.stack([masks, others], dim=2).flatten(0, 1)  # (B*K)*2*H*W
        x = torch.cat([per_object_image(image, num_objects), stacked], dim=1)
        x = self.relu(self.maxpool(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        value = fuse(self.fuser, f16, x.view(batch, num_objects, *x.shape[1:]))
        if deep_update and self.hidden_reinforce is not None:
            hidden = self.hidden_reinforce(value, hidden)
        return value, hidden


class XMemDecoder(nn.Module):
    """Memory read-out + hidden state + query features -> per-object logits and the new hidden state."""

    def __init__(self, size: ModelSize = FULL, hidden_dim: int = 64) -> None:
        super().__init__()
        d16, d8 = size.decoder_dims
        self.fuser = FeatureFusionBlock(size.f16_dim + size.value_dim + hidden_dim, d16)
        self.hidden_update = HiddenUpdater((d16, d8, d8 + 1), d8, hidden_dim) if hidden_dim > 0 else None
        self.up_16_8 = UpsampleBlock(size.f8_dim, d16, d8)
        self.up_8_4 = UpsampleBlock(size.f4_dim, d8, d8)
        self.pred = nn.Conv2d(d8, 1, kernel_size=3, padding=1)

    def forward(
        self, f16: Tensor, f8: Tensor, f4: Tensor, hidden: Tensor, readout: Tensor, *, update_hidden: bool
    ) -> tuple[Tensor, Tensor]:
        """``f16, f8, f4: B*C*h*w`` (strides 16, 8, 4), ``hidden: B*K*CH*h*w``, ``readout: B*K*CV*h*w``.

        Returns logits ``B*K*H*W`` (stride 1) and the hidden state (updated iff ``update_hidden``).
        """
        batch, num_objects = readout.shape[:2]
        g16 = fuse(self.fuser, f16, torch.cat([readout, hidden], dim=2))
        g8 = upsample(self.up_16_8, f8, g16)
        g4 = upsample(self.up_8_4, f4, g8)
        logits = self.pred(F.relu(g4.flatten(0, 1)))  # (B*K)*1*4h*4w
        if update_hidden and self.hidden_update is not None:
            g4 = torch.cat([g4, logits.view(batch, num_objects, *logits.shape[1:])], dim=2)
            hidden = self.hidden_update(g16, g8, g4, hidden)
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return logits.view(batch, num_objects, *logits.shape[-2:]), hidden

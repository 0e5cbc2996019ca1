"""Small building blocks of the STCN network.

Attribute names are part of the checkpoint format: they produce the official state-dict keys
(``...block1.conv1.weight``, ``...attention.ChannelGate.mlp.1.weight``), so they must not change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ResBlock(nn.Module):
    """Pre-activation residual block; a 3x3 conv shortcut when the width changes."""

    def __init__(self, in_dim: int, out_dim: int | None = None) -> None:
        super().__init__()
        out_dim = in_dim if out_dim is None else out_dim
        # Registered before conv1/conv2 so the state-dict order matches the official one.
        self.downsample = None if in_dim == out_dim else nn.Conv2d(in_dim, out_dim, 3, padding=1)
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        r = self.conv1(F.relu(x))
        r = self.conv2(F.relu(r))
        shortcut = x if self.downsample is None else self.downsample(x)
        return shortcut + r


class ChannelGate(nn.Module):
    """CBAM channel attention: a shared MLP over the global average- and max-pooled features."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        # Index 0 is a parameter-free flatten; keys are mlp.1.* and mlp.3.* as in the checkpoints.
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(avg + mx)[:, :, None, None]


class SpatialConv(nn.Module):
    """Holds the 7x7 conv as ``.conv`` (key ``SpatialGate.spatial.conv.*``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """CBAM spatial attention over the channel-wise max and mean maps."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = SpatialConv()

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.max(dim=1, keepdim=True)[0], x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Convolutional block attention (channel gate, then spatial gate)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels)
        self.SpatialGate = SpatialGate()

    def forward(self, x: Tensor) -> Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """Fuses mask-encoder features with the key encoder's f16 into the 512-d memory value."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.block1 = ResBlock(in_dim, out_dim)
        self.attention = CBAM(out_dim)
        self.block2 = ResBlock(out_dim, out_dim)

    def forward(self, x: Tensor, f16: Tensor) -> Tensor:
        x = self.block1(torch.cat([x, f16], dim=1))
        return self.block2(x + self.attention(x))


class UpsampleBlock(nn.Module):
    """Decoder stage: skip connection plus 2x bilinear upsampling of the coarser features."""

    def __init__(self, skip_dim: int, up_dim: int, out_dim: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_dim, up_dim, kernel_size=3, padding=1)
        self.out_conv = ResBlock(up_dim, out_dim)

    def forward(self, skip: Tensor, up: Tensor, index: Tensor | None = None) -> Tensor:
        """``index`` picks each row of ``up``'s frame in ``skip`` (several objects per frame)."""
        x = self.skip_conv(skip)
        if index is not None:
            x = x[index]
        x = x + F.interpolate(up, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(x)

"""Key and value encoders of STCN.

The key encoder is torchvision's ResNet-50 (v1.5: stride in the 3x3 conv, convs without bias)
cut after layer3; its ``layer1`` is stored as ``res2`` in the official checkpoints. It is spelled
out here so that building the network needs no torchvision import. The value encoder is STCN's
modified ResNet-18: every conv has a bias and the first conv takes 5 channels (RGB, the object's
mask, the other objects' mask). Weights always come from a checkpoint: nothing is downloaded.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ttvos.model.blocks import FeatureFusionBlock
from ttvos.model.sizes import FULL, ModelSize


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 bottleneck: 1x1 -> 3x3 (strided) -> 1x1 (x4 width), no conv bias."""

    def __init__(self, in_dim: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_dim = width * 4
        self.conv1 = nn.Conv2d(in_dim, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_dim, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_dim)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_dim != out_dim:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False), nn.BatchNorm2d(out_dim)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _bottleneck_layer(in_dim: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [Bottleneck(in_dim, width, stride)] + [Bottleneck(width * 4, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class KeyEncoder(nn.Module):
    """ResNet-50 to layer3: image ``B*3*H*W`` -> f16 ``B*1024*H/16*W/16``, f8, f4 (full size)."""

    def __init__(self, size: ModelSize = FULL) -> None:
        super().__init__()
        (w4, w8, w16), (b4, b8, b16) = size.key_widths, size.key_blocks
        self.conv1 = nn.Conv2d(3, size.stem_dim, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(size.stem_dim)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res2 = _bottleneck_layer(size.stem_dim, w4, b4, stride=1)  # 1/4, 256
        self.layer2 = _bottleneck_layer(w4 * 4, w8, b8, stride=2)  # 1/8, 512
        self.layer3 = _bottleneck_layer(w8 * 4, w16, b16, stride=2)  # 1/16, 1024

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(image))))
        f4 = self.res2(x)
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        return f16, f8, f4


class BasicBlock(nn.Module):
    """ResNet basic block whose convs carry a bias (STCN's mod_resnet)."""

    def __init__(self, in_dim: int, dim: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_dim, dim, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(dim)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(dim)
        self.downsample = None
        if stride != 1 or in_dim != dim:
            self.downsample = nn.Sequential(nn.Conv2d(in_dim, dim, 1, stride=stride), nn.BatchNorm2d(dim))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _basic_layer(in_dim: int, dim: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_dim, dim, stride), BasicBlock(dim, dim))


class ValueEncoder(nn.Module):
    """Mask encoder: per object ``cat(image, mask, others)`` -> ResNet-18 layer3 -> fused with f16.

    ``image: K*3*H*W, f16: K*1024*H/16*W/16, mask, others: K*1*H*W -> K*512*H/16*W/16`` (full size).
    """

    def __init__(self, size: ModelSize = FULL) -> None:
        super().__init__()
        w4, w8, w16 = size.value_widths
        self.conv1 = nn.Conv2d(5, w4, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(w4)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _basic_layer(w4, w4, 1)  # 1/4
        self.layer2 = _basic_layer(w4, w8, 2)  # 1/8
        self.layer3 = _basic_layer(w8, w16, 2)  # 1/16
        self.fuser = FeatureFusionBlock(size.f16_dim + w16, size.value_dim)

    def forward(self, image: Tensor, f16: Tensor, mask: Tensor, others: Tensor) -> Tensor:
        x = torch.cat([image, mask, others], dim=1)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fuser(x, f16)


class KeyProjection(nn.Module):
    """3x3 conv from f16 to the 64-d matching key (key ``key_proj.key_proj.*``)."""

    def __init__(self, in_dim: int = 1024, key_dim: int = 64) -> None:
        super().__init__()
        self.key_proj = nn.Conv2d(in_dim, key_dim, kernel_size=3, padding=1)

    def forward(self, f16: Tensor) -> Tensor:
        return self.key_proj(f16)

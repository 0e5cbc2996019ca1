"""Initial weights for training: PyTorch's default initialisation, or ImageNet encoders as STCN.

STCN (and XMem, whose encoders have the same names) starts its key encoder from torchvision's ImageNet
ResNet-50 and its value encoder from ResNet-18, whose first conv gets two extra input channels (the
masks) initialised to zero. The ImageNet weights are downloaded by torchvision on first use (cached
under ``$TORCH_HOME``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ttvos.model.sizes import FULL, ModelSize
from ttvos.model.stcn import STCN
from ttvos.model.xmem import XMem

NETWORKS: dict[str, type[STCN] | type[XMem]] = {"stcn": STCN, "xmem": XMem}  # TrainConfig.model -> class


def scratch_network(size: ModelSize, seed: int, model: str = "stcn") -> STCN | XMem:
    """A freshly initialised network; the seed makes the initial weights reproducible."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NETWORKS[model](size)


def imagenet_encoder_weights(resnet50: dict[str, Tensor], resnet18: dict[str, Tensor]) -> dict[str, Tensor]:
    """STCN encoder entries from torchvision ResNet-50 / ResNet-18 state dicts.

    ResNet-50's ``layer1`` is STCN's ``res2``; only layers up to ``layer3`` are used. The value
    encoder's 5-channel first conv takes the RGB filters and zeros for the two mask channels.
    """
    weights: dict[str, Tensor] = {}
    for key, value in resnet50.items():
        if key.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")):
            weights["key_encoder." + key.replace("layer1.", "res2.", 1)] = value
    for key, value in resnet18.items():
        if key == "conv1.weight":
            value = torch.cat([value, value.new_zeros(value.shape[0], 2, *value.shape[2:])], dim=1)
        if key.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")):
            weights["value_encoder." + key] = value
    return weights


def imagenet_network(seed: int, model: str = "stcn") -> STCN | XMem:
    """A full-size network whose encoders start from ImageNet weights (downloads them once)."""
    from torchvision.models import ResNet18_Weights, ResNet50_Weights, resnet18, resnet50

    network = scratch_network(FULL, seed, model)
    encoders = imagenet_encoder_weights(
        resnet50(weights=ResNet50_Weights.IMAGENET1K_V1).state_dict(),
        resnet18(weights=ResNet18_Weights.IMAGENET1K_V1).state_dict(),
    )
    missing = network.load_state_dict(encoders, strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    return network

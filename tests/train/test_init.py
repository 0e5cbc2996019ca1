"""Initial weights: seeded scratch networks, and ImageNet encoders mapped as STCN maps them."""

from __future__ import annotations

import torch

from ttvos.model.sizes import FULL, TINY
from ttvos.model.stcn import STCN
from ttvos.train.init import imagenet_encoder_weights, scratch_network


def test_scratch_network_depends_on_the_seed_only():
    first, again, other = scratch_network(TINY, 5), scratch_network(TINY, 5), scratch_network(TINY, 6)
    assert torch.equal(first.decoder.pred.weight, again.decoder.pred.weight)
    assert not torch.equal(first.decoder.pred.weight, other.decoder.pred.weight)


def test_imagenet_resnets_fill_the_encoders():
    from torchvision.models import resnet18, resnet50

    r50, r18 = resnet50().state_dict(), resnet18().state_dict()  # random weights: same layout, no download
    weights = imagenet_encoder_weights(r50, r18)
    with torch.device("meta"):
        expected = STCN(FULL).state_dict()
    assert all(key in expected and expected[key].shape == value.shape for key, value in weights.items())
    assert torch.equal(weights["key_encoder.res2.0.conv1.weight"], r50["layer1.0.conv1.weight"])
    assert not any(key.startswith("key_encoder.layer4") for key in weights)
    conv1 = weights["value_encoder.conv1.weight"]
    assert torch.equal(conv1[:, :3], r18["conv1.weight"]) and not conv1[:, 3:].any()
    # Every key-encoder entry and every value-encoder entry without a conv bias comes from ImageNet.
    key_encoder = [k for k in expected if k.startswith("key_encoder.")]
    assert set(key_encoder) <= set(weights)

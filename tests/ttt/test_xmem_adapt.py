"""Test-time training on XMem (no reference code exists): what can be checked without one.

Gradients reach exactly the trainable parameters, frozen layers get none and stay bit-identical,
and each loss falls when trained on one fixed sample (test_adapt.py checks, for both models, that
every video starts from the pretrained weights and that a seed fixes everything). A tiny XMem
with stand-in weights keeps this fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ttvos.data.io import normalize_frame
from ttvos.data.synthetic import make_synthetic_video
from ttvos.errors import UserError
from ttvos.inference.propagation import one_hot
from ttvos.inference.segment import segment_video
from ttvos.model.stcn import other_objects
from ttvos.model.xmem import load_xmem
from ttvos.ttt import LOSSES, TestTimeTrainer, TrainingSample, apply_freezing

from .conftest import tiny_config

HIDDEN_UPDATER = "decoder.hidden_update."
KEY_PROJECTION = "key_proj."


@pytest.fixture(scope="module")
def sample() -> TrainingSample:
    """Three frames of a two-object video, frame 0's true masks (the sampler's output format)."""
    video = make_synthetic_video(6, 64, 96, seed=11)
    labels = torch.from_numpy(video.masks[0].astype(np.int64))
    masks = one_hot(labels, int(labels.max()))[:, None]
    images = torch.stack([normalize_frame(video.frames[t]) for t in (0, 2, 5)])
    return TrainingSample(images, masks, other_objects(masks), labels, (0, 2, 5))


def batch_norm_affine(network) -> set[str]:
    return {
        f"{name}.{p}"
        for name, m in network.named_modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for p in ("weight", "bias")
    }


def gradients(
    network, loss: str, frozen: tuple[str, ...], sample: TrainingSample
) -> tuple[set[str], set[str]]:
    """(trainable parameters, parameters given a non-zero gradient) after one backward pass."""
    apply_freezing(network, frozen)
    network.zero_grad(set_to_none=True)
    LOSSES[loss](network, sample).loss.backward()
    trainable = {name for name, p in network.named_parameters() if p.requires_grad}
    graded = {name for name, p in network.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    return trainable, graded


@pytest.mark.parametrize(
    ("loss", "frozen", "without_gradient"),
    [
        ("mcc", (), set()),
        ("mcc", ("dec",), set()),
        ("mcc", ("all_keys",), set()),
        ("ent", (), set()),
        # tt-AE decodes without reading memory (no key projection) and keeps the decoder's hidden
        # state (no hidden updater): both are trainable but cannot get a gradient
        ("ae", (), {KEY_PROJECTION, HIDDEN_UPDATER}),
        ("ae", ("enc",), {KEY_PROJECTION, HIDDEN_UPDATER}),
    ],
)
def test_gradients_reach_exactly_the_trainable_parameters(
    loss, frozen, without_gradient, xmem_checkpoint, sample
):
    network = load_xmem(xmem_checkpoint)
    trainable, graded = gradients(network, loss, frozen, sample)
    expected = {name for name in trainable if not name.startswith(tuple(without_gradient))}
    assert graded == expected
    frozen_modules = {
        "dec": ("decoder.",),
        "all_keys": ("key_encoder.", "key_proj."),
        "enc": ("key_encoder.", "value_encoder."),
    }
    for option in frozen:
        assert not any(name.startswith(frozen_modules[option]) for name in trainable)


def test_entropy_with_batch_norm_only_trains_batch_norm_affine(xmem_checkpoint, sample):
    network = load_xmem(xmem_checkpoint)
    trainable, graded = gradients(network, "ent", ("net", "ubn"), sample)
    assert trainable == graded == batch_norm_affine(network)


def test_key_comp_does_not_exist_in_xmem(xmem_checkpoint):
    with pytest.raises(UserError, match="freezing option key_comp does not exist in XMem"):
        apply_freezing(load_xmem(xmem_checkpoint), ("key_comp",))


@pytest.mark.parametrize(
    ("loss", "frozen", "lr"), [("mcc", (), 1e-5), ("ae", (), 1e-5), ("ent", ("net", "ubn"), 1e-4)]
)
def test_the_loss_falls_on_a_fixed_sample(loss, frozen, lr, xmem_checkpoint, sample):
    network = load_xmem(xmem_checkpoint)
    apply_freezing(network, frozen)
    optimizer = torch.optim.Adam([p for p in network.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(6):
        optimizer.zero_grad(set_to_none=True)
        value = LOSSES[loss](network, sample).loss
        value.backward()
        optimizer.step()
        losses.append(float(value.detach()))
    assert all(later < earlier for earlier, later in zip(losses[:-1], losses[1:], strict=True)), losses


def adapt_and_segment(trainer, config, video, seed):
    logs = list(trainer.adapt(video, config, seed))
    masks = [m.labels for m in segment_video(trainer.network, video, config.inference)]
    return logs, masks


@pytest.mark.parametrize("config_name", ["xmem_mcc", "xmem_ae", "xmem_ent"])
def test_each_loss_adapts_and_segments(config_name, tiny_videos, xmem_checkpoint):
    network = load_xmem(xmem_checkpoint)
    pretrained = {k: v.clone() for k, v in network.state_dict().items()}
    config = tiny_config(config_name)
    logs, masks = adapt_and_segment(TestTimeTrainer(network), config, tiny_videos[0], seed=1)
    assert len(logs) == config.ttt.total_steps == 4
    assert all(np.isfinite(log.loss) and log.loss > 0 for log in logs)
    assert len(masks) == 5 and masks[0].shape == (64, 96)
    changed = {k for k, v in network.state_dict().items() if not torch.equal(v, pretrained[k])}
    assert changed and not any(p.requires_grad for p in network.parameters())
    if config_name == "xmem_ent":  # net, ubn: BatchNorm affine only, running statistics untouched
        assert changed <= batch_norm_affine(network)

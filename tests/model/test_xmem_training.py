"""XMem's training passes: the same computation as XMem's (golden-checked) inference where both apply."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.config import XMemInferenceConfig
from ttvos.data.io import normalize_frame
from ttvos.data.synthetic import make_synthetic_video
from ttvos.inference.propagation import one_hot
from ttvos.inference.xmem_propagation import XMemInferenceCore
from ttvos.model import xmem_training
from ttvos.model.stcn import other_objects
from ttvos.model.xmem import load_xmem

FRAMES = 4


@pytest.fixture(scope="module")
def network(xmem_checkpoint):
    return load_xmem(xmem_checkpoint)


@pytest.fixture(scope="module")
def clip():
    """Four 64x96 frames of a two-object video (sizes multiple of 16: no padding) and frame 0's labels."""
    video = make_synthetic_video(FRAMES, 64, 96, seed=4)
    images = torch.stack([normalize_frame(frame) for frame in video.frames])
    return images, torch.from_numpy(video.masks[0].astype("int64"))


def test_training_pass_is_inference_with_every_frame_in_memory(network, clip):
    """With every frame memorised and deep-updated, the whole memory read and no long-term memory,
    XMem's inference computes what the training pass computes (top-k over all elements = full
    softmax; frame 0's value from the aggregated rather than the raw mask: float32 noise)."""
    images, labels = clip
    masks = one_hot(labels, int(labels.max()))[:, None]  # O*1*H*W
    with torch.no_grad():
        features = xmem_training.encode(network, images)
        trained = xmem_training.propagate(network, images, features, masks, other_objects(masks))
    config = XMemInferenceConfig(mem_every=1, deep_update_every=1, enable_long_term=False, top_k=10**6)
    inferred = list(XMemInferenceCore(network, config).propagate(images, {0: labels}))
    assert len(trained) == FRAMES - 1 and len(inferred) == FRAMES
    for prediction, reference in zip(trained, inferred[1:], strict=True):
        assert prediction.logits.shape == (1, masks.shape[0] + 1, 64, 96)
        assert_close(prediction.prob[:, 0], reference.prob[1:], rtol=0, atol=1e-4)


def test_gradients_flow_through_the_hidden_state_and_the_memory(xmem_checkpoint, clip):
    """The last frame's prediction depends on the hidden updater (through the sensory memory
    carried from frame to frame), the deep update and the shrinkage/selection heads."""
    images, labels = clip
    masks = one_hot(labels, int(labels.max()))[:, None]
    network = load_xmem(xmem_checkpoint)  # a private copy to hold gradients
    network.requires_grad_(True)
    features = xmem_training.encode(network, images)
    predictions = xmem_training.propagate(network, images, features, masks, other_objects(masks))
    predictions[-1].logits.sum().backward()
    for module in (
        "decoder.hidden_update",
        "value_encoder.hidden_reinforce",
        "key_proj.d_proj",
        "key_proj.e_proj",
    ):
        grads = [p.grad for p in network.get_submodule(module).parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads), module

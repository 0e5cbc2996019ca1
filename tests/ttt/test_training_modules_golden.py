"""The training-style network calls of ``modules.npz`` (full-softmax read-out, tt-AE decode)."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.inference.propagation import one_hot
from ttvos.model import other_objects
from ttvos.model.matching import full_softmax
from ttvos.model.training import aggregate_objects, segment_from_memory


@pytest.fixture(scope="module")
def computed(golden, standin_network):
    case = {k: torch.from_numpy(v) for k, v in golden("modules").items()}
    net = standin_network
    with torch.inference_mode():
        memory = net.encode_key(case["rgb"][0:1])
        query = net.encode_key(case["rgb"][1:2])
        masks = one_hot(case["first_mask"].long(), 2)[:, None]
        value = net.encode_value(case["rgb"][0:1], memory.f16, masks, other_objects(masks))
        segmented = segment_from_memory(net, query, memory.key.flatten(2), value.flatten(2))
        decoded = aggregate_objects(torch.sigmoid(net.decode(value, memory)))
        affinity = full_softmax(net.affinity(memory.key.flatten(2), query.key.flatten(2)))
    return case, {
        "train_value": value[None, :, :, None],
        "train_affinity": affinity,
        "train_segment_logits": segmented.logits,
        "train_segment_prob": segmented.prob[:, 0][None],
        "train_decode_logits": decoded.logits,
        "train_decode_prob": decoded.prob[:, 0][None],
    }


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [
        ("train_value", dict(rtol=1e-4, atol=2e-4)),
        ("train_affinity", dict(rtol=0, atol=1e-4)),
        ("train_segment_prob", dict(rtol=0, atol=1e-4)),
        ("train_decode_prob", dict(rtol=0, atol=1e-4)),
        ("train_segment_logits", dict(rtol=0, atol=2e-3)),
        ("train_decode_logits", dict(rtol=0, atol=2e-3)),
    ],
)
def test_training_calls(name, tolerance, computed):
    case, ours = computed
    assert_close(ours[name], case[name], **tolerance)

"""Single network calls against the reference outputs in ``modules.npz`` (README section 4)."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.data.io import normalize_frame
from ttvos.inference.propagation import one_hot
from ttvos.model import other_objects
from ttvos.model.aggregate import aggregate
from ttvos.model.matching import top_k_softmax

FEATURES = dict(rtol=1e-4, atol=2e-4)  # features, values, read-out, decoder logits (magnitudes up to ~20)
PROBS = dict(rtol=0.0, atol=1e-4)  # affinities and probabilities


@pytest.fixture(scope="module")
def case(golden):
    return {k: torch.from_numpy(v) for k, v in golden("modules").items()}


@pytest.fixture(scope="module")
def outputs(case, standin_network):
    net = standin_network
    with torch.inference_mode():
        memory = net.encode_key(case["rgb"][0:1])
        masks = one_hot(case["first_mask"].long(), 2)[:, None]
        value = net.encode_value(case["rgb"][0:1], memory.f16, masks, other_objects(masks))
        query = net.encode_key(case["rgb"][1:2])
        affinity = top_k_softmax(net.affinity(memory.key.flatten(2), query.key.flatten(2)), top_k=20)
        readout = net.read(affinity.expand(2, -1, -1), value.flatten(2)).view(2, 512, 4, 6)
        logits = net.decode(readout, query)
    return {
        "k16": memory.key,
        "f16_thin": memory.f16_thin,
        "f16": memory.f16,
        "f8": memory.f8,
        "f4": memory.f4,
        "masks": masks,
        "others": other_objects(masks),
        "value": value.unsqueeze(2),
        "q_k16": query.key,
        "q_f16_thin": query.f16_thin,
        "q_f8": query.f8,
        "q_f4": query.f4,
        "affinity_topk": affinity,
        "readout": readout,
        "dec_logits": logits,
        "dec_prob": torch.sigmoid(logits),
        "agg_prob": aggregate(torch.sigmoid(logits), dim=0),
    }


def test_normalisation_of_frames(case):
    for frame, expected in zip(case["image_u8"].numpy(), case["rgb"], strict=True):
        assert_close(normalize_frame(frame), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "name",
    [
        "k16",
        "f16_thin",
        "f16",
        "f8",
        "f4",
        "value",
        "q_k16",
        "q_f16_thin",
        "q_f8",
        "q_f4",
        "readout",
        "dec_logits",
    ],
)
def test_features(name, case, outputs):
    assert_close(outputs[name], case[name], **FEATURES)


@pytest.mark.parametrize("name", ["masks", "others"])
def test_mask_inputs(name, case, outputs):
    assert_close(outputs[name], case[name], rtol=0, atol=0)


@pytest.mark.parametrize("name", ["affinity_topk", "dec_prob", "agg_prob"])
def test_probabilities(name, case, outputs):
    assert_close(outputs[name], case[name], **PROBS)


def test_top_k_sparsity(outputs):
    affinity = outputs["affinity_topk"][0]
    assert ((affinity > 0).sum(dim=0) == 20).all()
    assert_close(affinity.sum(dim=0), torch.ones(24), rtol=0, atol=1e-6)

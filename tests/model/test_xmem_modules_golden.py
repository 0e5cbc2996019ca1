"""Single XMem network calls against the official code's outputs (``xmem/xmem_modules.npz``, section 2).

Tolerances are the golden README's for a float32 port: network tensors 1e-4 (values and read-outs
5e-4), affinities 1e-5. The decoder's aggregated probabilities amplify float32 rounding where
objects have large logits (1 - sigmoid is quantised), so aggregation is checked exactly on the
reference logits, and end to end within 0.01.
"""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.inference.propagation import one_hot
from ttvos.model.aggregate import aggregate, aggregate_logits
from ttvos.model.matching import full_softmax, top_k_softmax
from ttvos.model.standin import standin_state_dict
from ttvos.model.xmem import XMemKeyFeatures, load_xmem, similarity

FEATURES = dict(rtol=1e-5, atol=1e-4)
VALUES = dict(rtol=1e-5, atol=5e-4)
AFFINITIES = dict(rtol=0.0, atol=1e-5)
KEY_FEATURES = ("key", "shrinkage", "selection", "f16", "f8", "f4")  # XMemKeyFeatures' field order


@pytest.fixture(scope="module")
def case(golden):
    return {k: torch.from_numpy(v) for k, v in golden("xmem/xmem_modules").items()}


@pytest.fixture(scope="module")
def network():
    """The stand-in XMem (equal to the golden filler's weights: see test_xmem_network)."""
    return load_xmem(standin_state_dict(family="xmem"))


@pytest.fixture(scope="module")
def outputs(case, network):
    out = {}
    with torch.inference_mode():
        for prefix, image in (("", case["rgb"][0:1]), ("q_", case["rgb"][1:2])):
            features = network.encode_key(image)
            for name in KEY_FEATURES:
                out[prefix + name] = getattr(features, name)
        masks = one_hot(case["first_mask"].long(), 3)[None]
        out["masks"] = masks
        out["aggregate_out"] = aggregate(masks[0], dim=0)
        value_masks = out["aggregate_out"][1:][None]
        hidden = torch.zeros(1, 3, network.hidden_dim, 4, 6)
        out["value"], out["value_hidden_out"] = network.encode_value(
            case["rgb"][0:1], out["f16"], hidden, value_masks, deep_update=True
        )
        out["value_nodeep"], out["hidden_nodeep"] = network.encode_value(
            case["rgb"][0:1], out["f16"], out["value_hidden_out"], value_masks, deep_update=False
        )
        query_value, _ = network.encode_value(
            case["rgb"][1:2], out["q_f16"], out["value_hidden_out"], value_masks, deep_update=False
        )
        out["mem_key"] = torch.cat([out["key"].flatten(2), out["q_key"].flatten(2)], dim=2)
        out["mem_shrinkage"] = torch.cat([out["shrinkage"].flatten(2), out["q_shrinkage"].flatten(2)], dim=2)
        out["mem_value"] = torch.cat([out["value"][0].flatten(2), query_value[0].flatten(2)], dim=2)
        # The decoder reads the reference's read-out and hidden state: errors do not accumulate.
        query = XMemKeyFeatures(
            *(case[f"q_{n}"] for n in ("key", "shrinkage", "selection", "f16", "f8", "f4"))
        )
        logits, out["dec_hidden_out"] = network.decode(case["readout"][None], case["dec_hidden_in"], query)
        out["dec_logits_agg"] = aggregate_logits(torch.sigmoid(logits), dim=1)
        out["dec_prob"] = aggregate(torch.sigmoid(logits), dim=1)
        out["dec_raw_logits"], unchanged = network.decode(
            case["readout"][None], case["dec_hidden_in"], query, update_hidden=False
        )
    assert unchanged is case["dec_hidden_in"]
    return out


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "shrinkage",
        "selection",
        "f16",
        "f8",
        "f4",
        "q_key",
        "q_shrinkage",
        "q_selection",
        "q_f16",
        "q_f8",
        "q_f4",
        "value_hidden_out",
        "mem_key",
        "mem_shrinkage",
        "dec_hidden_out",
        "dec_raw_logits",
    ],
)
def test_features(name, case, outputs):
    assert_close(outputs[name], case[name], **FEATURES)


@pytest.mark.parametrize("name", ["value", "value_nodeep", "mem_value"])
def test_values(name, case, outputs):
    assert_close(outputs[name], case[name], **VALUES)


def test_shrinkage_and_selection_ranges(outputs):
    assert float(outputs["shrinkage"].min()) >= 1.0
    assert 0.0 < float(outputs["selection"].min()) and float(outputs["selection"].max()) < 1.0


def test_given_masks_are_softened_by_aggregation(case, outputs):
    assert_close(outputs["masks"], case["masks"], rtol=0, atol=0)
    assert_close(case["aggregate_in"], case["masks"][0], rtol=0, atol=0)
    assert_close(outputs["aggregate_out"], case["aggregate_out"], rtol=0, atol=1e-7)
    assert_close(case["value_in_masks"], case["aggregate_out"][1:][None], rtol=0, atol=0)


def test_hidden_state_passes_through_without_deep_update(case, outputs):
    assert outputs["hidden_nodeep"] is outputs["value_hidden_out"]
    assert_close(case["dec_hidden_in"], case["value_hidden_out"], rtol=0, atol=0)


@pytest.mark.parametrize(
    "name, use_shrinkage, use_selection",
    [
        ("similarity", True, True),
        ("similarity_noselection", True, False),
        ("similarity_noshrinkage", False, True),
    ],
)
def test_similarity(name, use_shrinkage, use_selection, case):
    result = similarity(
        case["mem_key"],
        case["mem_shrinkage"] if use_shrinkage else None,
        case["q_key"].flatten(2),
        case["q_selection"].flatten(2) if use_selection else None,
    )
    assert_close(result, case[name], **FEATURES)


def test_affinities_and_usage(case):
    assert_close(top_k_softmax(case["similarity"], 10), case["affinity_topk10"], **AFFINITIES)
    full = full_softmax(case["similarity"])
    assert_close(full, case["affinity_full"], **AFFINITIES)
    assert_close(full.sum(dim=2), case["usage_full"], **AFFINITIES)


def test_aggregation_of_reference_logits_is_exact(case):
    prob = torch.sigmoid(case["dec_raw_logits"])
    assert_close(aggregate_logits(prob, dim=1), case["dec_logits_agg"], rtol=0, atol=1e-6)
    assert_close(aggregate(prob, dim=1), case["dec_prob"], rtol=0, atol=1e-6)


def test_decoder_probabilities(case, outputs):
    assert_close(outputs["dec_prob"], case["dec_prob"], rtol=0, atol=1e-2)
    assert_close(outputs["dec_logits_agg"], case["dec_logits_agg"], rtol=0, atol=5e-2)

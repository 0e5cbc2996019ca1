"""Whole-video propagation against the reference inference cores (README sections 5, 6, 8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from ttvos.inference import InferenceCore, labels_from_prob, propagation
from ttvos.model.padding import padding_for, unpad

PROB_ATOL = 5e-4
LABEL_AGREEMENT = 0.999


def run_case(network, case, annotations, num_objects=None):
    core = InferenceCore(
        network,
        top_k=int(case["top_k"]),
        mem_every=int(case["mem_every"]),
        include_last=bool(case["include_last"]),
    )
    predictions = list(core.propagate(torch.from_numpy(case["rgb"]), annotations, num_objects))
    prob = torch.stack([p.prob for p in predictions], dim=1)
    labels = torch.stack([labels_from_prob(p.prob) for p in predictions]).numpy()
    return [p.index for p in predictions], prob, labels


@pytest.mark.parametrize("name", ["infer_davis_t8_64x96", "infer_davis_t10_60x100_pad"])
def test_davis_style(name, golden, standin_network):
    case = golden(name)
    first = torch.from_numpy(case["first_mask"].astype(np.int64))
    indices, prob, labels = run_case(standin_network, case, {0: first})
    assert indices == list(range(len(case["rgb"])))
    assert_close(prob, torch.from_numpy(case["prob"]), rtol=0, atol=PROB_ATOL)
    assert (labels == case["labels"]).mean() >= LABEL_AGREEMENT


def test_padding_split_matches_reference(golden):
    case = golden("infer_davis_t10_60x100_pad")
    assert tuple(padding_for(*case["rgb"].shape[-2:])) == tuple(case["pad"])
    assert case["prob_padded"].shape[-2:] == (64, 112)


def test_padded_probabilities_match_reference(golden, standin_network, monkeypatch):
    """The probabilities before unpadding, padding included (what memory values are encoded from)."""
    case = golden("infer_davis_t10_60x100_pad")
    padded = []

    def keep_padded(prob, padding):
        padded.append(prob.clone())
        return unpad(prob, padding)

    monkeypatch.setattr(propagation, "unpad", keep_padded)
    run_case(standin_network, case, {0: torch.from_numpy(case["first_mask"].astype(np.int64))})
    expected = torch.from_numpy(case["prob_padded"])
    assert_close(torch.stack(padded, dim=1), expected, rtol=0, atol=PROB_ATOL)


def test_youtube_style_late_object(golden, standin_network):
    case = golden("infer_youtube")
    annotations = {
        int(t): torch.from_numpy(mask.astype(np.int64))
        for t, mask in zip(case["annot_frame_idx"], case["annot_masks"], strict=True)
    }
    # Raw labels 1, 2 are already contiguous here (label_convert is the identity).
    assert case["label_convert"].tolist() == [[1, 1], [2, 2]]
    indices, prob, labels = run_case(standin_network, case, annotations, num_objects=2)
    assert indices == [t for t in range(len(case["rgb"])) if case["written"][t]]
    assert_close(prob, torch.from_numpy(case["prob"]), rtol=0, atol=PROB_ATOL)
    assert (labels == case["labels"]).mean() >= LABEL_AGREEMENT
    # Object 2 has no memory before its annotation at frame 3: exactly zero on propagated frames,
    # and ~1e-14 on frame 0, where the reference aggregates over all K channels (clamped to 1e-7).
    assert_close(prob[2, 1:3], torch.zeros_like(prob[2, 1:3]), rtol=0, atol=0)
    assert float(prob[2, 0].max()) < 1e-6

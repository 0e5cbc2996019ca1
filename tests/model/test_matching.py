"""The top-k softmax of inference: the official normalisation, without its float32 overflow."""

from __future__ import annotations

import torch
from torch.testing import assert_close

from ttvos.model.matching import top_k_softmax


def test_large_affinities_give_the_softmax_not_nan():
    # Keys of a trained network can give affinities far above 88, where exp() overflows float32.
    affinity = torch.tensor([[[400.0, 10.0], [398.0, 12.0], [-500.0, 11.0]]])  # 1 x 3 memory x 2 queries
    weights = top_k_softmax(affinity, top_k=2)
    assert torch.isfinite(weights).all()
    expected_first = torch.softmax(torch.tensor([400.0, 398.0]), dim=0)
    assert_close(weights[0, :2, 0], expected_first)
    assert weights[0, 2, 0] == 0  # outside the top 2 of its column
    assert_close(weights[0, [1, 2], 1], torch.softmax(torch.tensor([12.0, 11.0]), dim=0))


def test_small_affinities_equal_the_official_raw_exponent():
    affinity = torch.randn(2, 30, 7, generator=torch.Generator().manual_seed(0))
    values, indices = torch.topk(affinity, k=5, dim=1)
    official = torch.zeros_like(affinity).scatter_(
        1, indices, values.exp() / values.exp().sum(1, keepdim=True)
    )
    assert_close(top_k_softmax(affinity, top_k=5), official, rtol=1e-6, atol=1e-7)

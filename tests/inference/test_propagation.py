"""Propagation behaviour beyond the golden cases: memory schedule, late starts, edge settings."""

from __future__ import annotations

import pytest
import torch

from ttvos.inference import InferenceCore, MemoryBank, labels_from_prob
from ttvos.model import STCN


@pytest.fixture()
def frames():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(12, 3, 32, 48, generator=generator)


@pytest.fixture()
def first_mask():
    mask = torch.zeros(32, 48, dtype=torch.long)
    mask[4:20, 6:30] = 1
    mask[18:30, 28:44] = 2
    return mask


def memory_additions(monkeypatch, core: InferenceCore, frames, annotations) -> list[tuple[int, bool]]:
    """(frame index, temporary) of every memory addition made while propagating."""
    additions: list[tuple[int, bool]] = []
    produced: list[int] = []
    original = MemoryBank.add

    def spy(bank, key, value, *, temporary=False, **kwargs):
        # Additions happen while frame len(produced) + first is being computed.
        additions.append((min(annotations) + len(produced), temporary))
        original(bank, key, value, temporary=temporary, **kwargs)

    monkeypatch.setattr(MemoryBank, "add", spy)
    for prediction in core.propagate(frames, annotations):
        produced.append(prediction.index)
    return additions


def test_memory_every_five_frames_last_frame_never(monkeypatch, standin_network: STCN, frames, first_mask):
    core = InferenceCore(standin_network, top_k=20, mem_every=5)
    assert memory_additions(monkeypatch, core, frames, {0: first_mask}) == [
        (0, False),
        (5, False),
        (10, False),
    ]


def test_include_last_adds_temporary_frames_except_last(
    monkeypatch, standin_network: STCN, frames, first_mask
):
    core = InferenceCore(standin_network, top_k=20, mem_every=4, include_last=True)
    additions = memory_additions(monkeypatch, core, frames[:9], {0: first_mask})
    assert additions == [
        (0, False),
        (1, True),
        (2, True),
        (3, True),
        (4, False),
        (5, True),
        (6, True),
        (7, True),
    ]


def test_memory_counted_from_a_later_annotation(monkeypatch, standin_network: STCN, frames, first_mask):
    core = InferenceCore(standin_network, top_k=20, mem_every=5)
    additions = memory_additions(monkeypatch, core, frames, {3: first_mask})
    assert additions == [(3, False), (8, False)]


def test_first_annotation_later_than_frame_zero(standin_network: STCN, frames, first_mask):
    core = InferenceCore(standin_network, top_k=20, mem_every=5)
    predictions = list(core.propagate(frames, {3: first_mask}))
    assert [p.index for p in predictions] == list(range(3, 12))
    assert torch.equal(labels_from_prob(predictions[0].prob), first_mask.to(torch.uint8))


def test_top_k_larger_than_memory_uses_all_entries(standin_network: STCN, frames, first_mask):
    core = InferenceCore(standin_network, top_k=10_000, mem_every=5)
    predictions = list(core.propagate(frames[:3], {0: first_mask}))
    assert all(torch.isfinite(p.prob).all() for p in predictions)
    assert torch.allclose(predictions[-1].prob.sum(0), torch.ones(32, 48), atol=1e-5)


def test_labels_from_prob_resizes_and_breaks_ties_low():
    prob = torch.zeros(3, 2, 2)
    prob[1] = 0.5
    prob[2] = 0.5
    labels = labels_from_prob(prob, (4, 4))
    assert labels.shape == (4, 4) and labels.dtype == torch.uint8
    assert (labels == 1).all()


def test_invalid_settings_are_rejected(standin_network: STCN):
    with pytest.raises(ValueError):
        InferenceCore(standin_network, top_k=0)
    with pytest.raises(ValueError):
        list(InferenceCore(standin_network).propagate(torch.zeros(2, 3, 16, 16), {}))

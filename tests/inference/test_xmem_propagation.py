"""XMem propagation on small synthetic videos with the tiny stand-in network: the contract shared
with STCN's engine, object order, bounded memory and clear errors."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.config import XMemInferenceConfig
from ttvos.errors import UserError
from ttvos.inference.xmem_propagation import XMemInferenceCore
from ttvos.model.sizes import TINY
from ttvos.model.standin import standin_state_dict
from ttvos.model.xmem import load_xmem


@pytest.fixture(scope="module")
def network():
    return load_xmem(standin_state_dict(TINY, family="xmem"), size=TINY)


def frames(count: int, height: int = 32, width: int = 48) -> torch.Tensor:
    return torch.randn(count, 3, height, width, generator=torch.Generator().manual_seed(0))


def box(label: int, top: int, left: int, height: int = 32, width: int = 48) -> torch.Tensor:
    labels = torch.zeros(height, width, dtype=torch.int64)
    labels[top : top + 10, left : left + 12] = label
    return labels


def test_yields_every_frame_from_the_first_annotation(network):
    core = XMemInferenceCore(network, XMemInferenceConfig(mem_every=2))
    predictions = list(core.propagate(frames(6), {2: box(1, 4, 4) + box(2, 18, 30)}))
    assert [p.index for p in predictions] == [2, 3, 4, 5]
    for prediction in predictions:
        assert prediction.prob.shape == (3, 32, 48)
        assert_close(prediction.prob.sum(dim=0), torch.ones(32, 48), rtol=0, atol=1e-5)


def test_late_objects_may_have_lower_ids_than_earlier_ones(network):
    """Objects are grouped in order of appearance, whatever their contiguous ids (XMem's MaskMapper)."""
    video = frames(6)
    core = XMemInferenceCore(network, XMemInferenceConfig(mem_every=2))
    in_order = {0: box(1, 2, 2) + box(2, 18, 30), 3: box(3, 20, 4)}
    shuffled = {0: box(2, 2, 2) + box(3, 18, 30), 3: box(1, 20, 4)}
    expected = [p.prob for p in core.propagate(video, in_order)]
    got = [p.prob for p in core.propagate(video, shuffled)]
    for reference, prob in zip(expected, got, strict=True):
        assert_close(prob[[0, 2, 3, 1]], reference, rtol=0, atol=0)
    assert torch.count_nonzero(torch.stack(got)[:3, 1]) == 0


def test_long_term_memory_keeps_the_memory_bounded(network):
    config = XMemInferenceConfig(
        mem_every=1,
        min_mid_term_frames=2,
        max_mid_term_frames=4,
        num_prototypes=16,
        max_long_term_elements=40,
    )
    core = XMemInferenceCore(network, config)
    video = core.start(30, 1)
    per_frame = 2 * 3  # h*w at stride 16
    annotation = box(1, 8, 8)
    for t, frame in enumerate(frames(30)):
        video.step(frame, annotation if t == 0 else None, index=t, is_last=t == 29)
        assert video.memory.working.size <= config.max_mid_term_frames * per_frame
        assert video.memory.long_term.size <= config.max_long_term_elements
    kinds = {event.kind for event in video.memory.events}
    assert kinds == {"consolidate", "remove_obsolete"}


def test_last_frame_is_not_memorised(network):
    core = XMemInferenceCore(network, XMemInferenceConfig(mem_every=1, enable_long_term=False))
    video = core.start(3, 1)
    sizes = []
    for t, frame in enumerate(frames(3)):
        video.step(frame, box(1, 4, 4) if t == 0 else None, index=t, is_last=t == 2)
        sizes.append(video.memory.working.size)
    assert sizes == [6, 12, 12]


def test_invalid_options_are_refused(network):
    with pytest.raises(UserError, match="max_mid_term_frames must be larger than min_mid_term_frames"):
        XMemInferenceCore(network, XMemInferenceConfig(min_mid_term_frames=5, max_mid_term_frames=5))


def test_annotation_beyond_the_object_count_is_refused(network):
    core = XMemInferenceCore(network)
    with pytest.raises(UserError, match="object id 2"):
        list(core.propagate(frames(2), {0: box(2, 4, 4)}, num_objects=1))

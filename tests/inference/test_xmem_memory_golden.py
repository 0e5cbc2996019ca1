"""XMem's memory calls against the official ``MemoryManager`` (``xmem/xmem_modules.npz``), and unit
tests of the memory store's bookkeeping (usage, consolidation ranges, removal) on small tensors."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from ttvos.config import XMemInferenceConfig
from ttvos.errors import UserError
from ttvos.inference.xmem_memory import MemoryStore, XMemMemory


@pytest.fixture(scope="module")
def case(golden):
    return {k: torch.from_numpy(v) for k, v in golden("xmem/xmem_modules").items()}


def test_readout_and_usage_after_two_memory_frames(case):
    """``add_memory`` of frames 0 and 3 (long-term on, top_k 10, objects 1..3) then ``match_memory``."""
    memory = XMemMemory(XMemInferenceConfig(top_k=10), hidden_dim=64, count_long_term_usage=False)
    second_value = case["mem_value"][:, :, 24:].reshape(1, 3, 512, 4, 6)
    memory.add(case["key"], case["shrinkage"], case["value"], case["selection"], num_objects=3, frame=0)
    memory.add(case["q_key"], case["q_shrinkage"], second_value, case["q_selection"], num_objects=3, frame=3)
    assert_close(memory.working.key, case["mem_key"], rtol=0, atol=0)
    readout = memory.read(case["q_key"], case["q_selection"])
    assert_close(readout, case["readout"], rtol=1e-5, atol=5e-4)
    assert_close(memory.working.usage(), case["work_usage_after_readout"], rtol=0, atol=1e-5)
    assert memory.events == []  # 2 frames < max_mid_term_frames


def _store(sizes: list[int], *, count_usage: bool = True) -> MemoryStore:
    """A store with one frame of ``sizes[0]`` elements per ``add_frame`` call and a single group."""
    store = MemoryStore(count_usage=count_usage)
    for size in sizes:
        key = torch.arange(size, dtype=torch.float32).view(1, 1, size) + store.size
        store.add_frame(key, key.clone(), None, key.expand(2, 3, size).clone(), objects=[0, 1])
    return store


def test_usage_is_use_over_life():
    store = _store([2, 2])
    store.update_usage(torch.tensor([1.0, 0.0, 2.0, 4.0]))
    store.update_usage(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert_close(store.usage().flatten(), torch.tensor([1.0, 0.0, 1.0, 2.0]), rtol=1e-6, atol=0)


def test_keep_ends_cuts_keys_and_large_groups():
    store = _store([2, 2, 2])
    store.add_frame(torch.full((1, 1, 2), 9.0), torch.ones(1, 1, 2), None, torch.zeros(3, 3, 2), [0, 1, 2])
    assert [store.value_size(g) for g in range(store.num_groups)] == [8, 2]
    store.keep_ends(2, 2, min_value_size=6)
    assert store.key.flatten().tolist() == [0.0, 1.0, 9.0, 9.0]
    assert [store.value_size(g) for g in range(store.num_groups)] == [4, 2]


def test_remove_obsolete_drops_ties_at_the_threshold():
    store = _store([5])
    store.update_usage(torch.tensor([3.0, 1.0, 1.0, 0.5, 2.0]))
    store.remove_obsolete(max_size=3)  # 2 least used: 0.5 and one 1.0; the tied 1.0 goes as well
    assert store.key.flatten().tolist() == [0.0, 4.0]


def test_remove_obsolete_refuses_several_groups():
    store = _store([2])
    store.add_frame(torch.zeros(1, 1, 2), torch.ones(1, 1, 2), None, torch.zeros(3, 3, 2), [0, 1, 2])
    with pytest.raises(UserError, match="raise max_long_term_elements"):
        store.remove_obsolete(max_size=1)

"""The memory bank's preallocated buffers read what concatenated memories read; the cap bounds it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ttvos.inference import InferenceCore, MemoryBank
from ttvos.model import STCN, load_stcn
from ttvos.model.sizes import TINY
from ttvos.model.standin import standin_state_dict


@pytest.fixture(scope="module")
def tiny_network() -> STCN:
    """Whole-video propagations run on the tiny network: the same engine, much less arithmetic."""
    return load_stcn(standin_state_dict(TINY), size=TINY)


def frame(
    seed: int, objects: int = 2, key_dim: int = 64, value_dim: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """A memory frame of 3x5 positions: ``key: 1*CK*3*5``, ``value: K*CV*3*5``."""
    generator = torch.Generator().manual_seed(seed)
    key = torch.randn(1, key_dim, 3, 5, generator=generator)
    return key, torch.randn(objects, value_dim, 3, 5, generator=generator)


def reference_read(
    frames: list[tuple[torch.Tensor, torch.Tensor]], query: torch.Tensor, top_k: int
) -> torch.Tensor:
    """STCN's read-out written out on concatenated memories: L2 affinity, top-k softmax, weighted sum."""
    keys = torch.cat([k.flatten(2) for k, _ in frames], dim=2)[0]  # CK*N
    values = torch.cat([v.flatten(2) for _, v in frames], dim=2)  # K*CV*N
    q = query.flatten(2)[0]  # CK*M
    affinity = (2 * keys.T @ q - keys.pow(2).sum(0)[:, None]) / keys.shape[0] ** 0.5  # N*M
    top, index = affinity.topk(min(top_k, affinity.shape[0]), dim=0)
    weights = torch.zeros_like(affinity).scatter_(0, index, F.softmax(top, dim=0))
    return (values @ weights).view(values.shape[0], values.shape[1], *query.shape[-2:])


def test_reads_match_concatenated_memory_while_growing(tiny_network: STCN):
    bank = MemoryBank(top_k=20, capacity=1)  # too small on purpose: the buffers must grow
    stored = []
    for seed in range(6):
        key, value = frame(seed)
        bank.add(key, value)
        stored.append((key, value))
        query = frame(100 + seed)[0]
        torch.testing.assert_close(bank.read(tiny_network, query), reference_read(stored, query, 20))
    assert bank.frames == 6


def test_temporary_frame_is_read_then_replaced(tiny_network: STCN):
    bank = MemoryBank(top_k=20)
    first, temporary, second = frame(0), frame(1), frame(2)
    query = frame(9)[0]
    bank.add(*first)
    bank.add(*temporary, temporary=True)
    torch.testing.assert_close(bank.read(tiny_network, query), reference_read([first, temporary], query, 20))
    bank.add(*second)
    assert bank.frames == 2
    torch.testing.assert_close(bank.read(tiny_network, query), reference_read([first, second], query, 20))


def test_cap_keeps_pinned_frames_and_the_newest(tiny_network: STCN):
    bank = MemoryBank(top_k=20, max_frames=2)
    frames = [frame(seed) for seed in range(7)]
    bank.add(*frames[0], pinned=True)
    for index in range(1, 5):
        bank.add(*frames[index])
    bank.add(*frames[5], pinned=True)  # a later annotated frame: kept whatever the cap
    bank.add(*frames[6])
    assert bank.frames == 4
    query = frame(50)[0]
    kept = [frames[0], frames[4], frames[5], frames[6]]
    torch.testing.assert_close(bank.read(tiny_network, query), reference_read(kept, query, 20))


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="max_frames"):
        MemoryBank(top_k=20, max_frames=0)


def largest_bank(
    monkeypatch, core: InferenceCore, frames: torch.Tensor, mask: torch.Tensor
) -> tuple[int, int]:
    """The most frames any bank held during a propagation, and the most its buffers could hold."""
    sizes: list[tuple[int, int]] = []
    original = MemoryBank.add

    def spy(bank, key, value, **kwargs):
        original(bank, key, value, **kwargs)
        sizes.append((bank.frames, bank._capacity))

    monkeypatch.setattr(MemoryBank, "add", spy)
    for _ in core.propagate(frames, {0: mask}):
        pass
    return max(s for s, _ in sizes), max(c for _, c in sizes)


@pytest.fixture()
def long_video():
    generator = torch.Generator().manual_seed(3)
    frames = torch.randn(24, 3, 32, 48, generator=generator)
    mask = torch.zeros(32, 48, dtype=torch.long)
    mask[4:20, 6:30] = 1
    return frames, mask


def test_cap_bounds_the_memory_of_a_long_video(monkeypatch, tiny_network: STCN, long_video):
    frames, mask = long_video
    uncapped = largest_bank(monkeypatch, InferenceCore(tiny_network, mem_every=2), frames, mask)
    capped = largest_bank(
        monkeypatch,
        InferenceCore(tiny_network, mem_every=2, include_last=True, max_memory_frames=3),
        frames,
        mask,
    )
    assert uncapped[0] == 12  # frames 0, 2, ..., 22
    assert capped[0] == 4  # the annotated frame and the 3 newest
    assert capped[1] <= 5  # buffers sized for them and the temporary frame, never grown


def test_no_cap_is_the_faithful_engine(tiny_network: STCN, long_video):
    frames, mask = long_video
    faithful = InferenceCore(tiny_network, mem_every=3)
    explicit = InferenceCore(tiny_network, mem_every=3, max_memory_frames=None)
    for a, b in zip(
        faithful.propagate(frames[:12], {0: mask}), explicit.propagate(frames[:12], {0: mask}), strict=True
    ):
        assert torch.equal(a.prob, b.prob)


def test_a_cap_larger_than_the_video_changes_nothing(tiny_network: STCN, long_video):
    frames, mask = long_video
    faithful = InferenceCore(tiny_network, mem_every=3)
    capped = InferenceCore(tiny_network, mem_every=3, max_memory_frames=50)
    for a, b in zip(
        faithful.propagate(frames[:12], {0: mask}), capped.propagate(frames[:12], {0: mask}), strict=True
    ):
        assert torch.equal(a.prob, b.prob)


def test_the_config_cap_reaches_the_engine(monkeypatch, tiny_network: STCN, tmp_path):
    """inference.max_memory_frames, as ttvos run passes it (segment_video with the config's settings)."""
    from ttvos.config import InferenceConfig
    from ttvos.data.synthetic import make_synthetic_video, save_video
    from ttvos.data.video import VOSVideo, load_video
    from ttvos.inference.segment import segment_video

    save_video(make_synthetic_video(10, 32, 48, seed=2), tmp_path / "frames", tmp_path / "masks")
    video = VOSVideo(
        "v", tuple(sorted((tmp_path / "frames").glob("*.jpg"))), {0: tmp_path / "masks" / "00000.png"}
    )
    loaded = load_video(video, None)
    held: list[int] = []
    original = MemoryBank.add

    def spy(bank, key, value, **kwargs):
        original(bank, key, value, **kwargs)
        held.append(bank.frames)

    monkeypatch.setattr(MemoryBank, "add", spy)
    settings = InferenceConfig(mem_every=1, max_memory_frames=2, resolution=None)
    assert len(list(segment_video(tiny_network, loaded, settings))) == 10
    assert max(held) == 3  # the annotated frame and the 2 newest of 8 memory frames

"""The TTT sampler against the reference loader (``ttt_*.npz``): with no augmentation configured the
mapping from (frames, pseudo-labels, chosen frame indices) to the training sample is deterministic.

The reference builds masks for every frame of the sequence; its losses read only frame 0's (the
README of the golden data, section 7), which is all a :class:`TrainingSample` holds.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image

from ttvos.config import load_config, replace
from ttvos.data.video import FrameSequence
from ttvos.ttt.sampler import Draw, SequenceSampler


class FixedDraws:
    """The frames the golden case chose, in place of the random draw."""

    def __init__(self, frames: tuple[int, ...]) -> None:
        self.frames = frames

    def start(self, num_frames: int, annotated_frames: list[int], lengths: list[int]) -> None:
        pass

    def trials(self, sampler: SequenceSampler, max_jump: int, seq_len: int) -> Iterator[Draw]:
        yield Draw(self.frames, 1)


def golden_sample(case: dict[str, np.ndarray], loss: str, folder):
    """A video whose frames ``frames_idx`` are the golden frames (stored losslessly), and the sample
    the sampler builds from them with the paper's config for ``loss``."""
    indices = [int(i) for i in case["frames_idx"]]
    count = max(indices) + 1
    frames_u8 = {i: case["frames_u8"][k] for k, i in enumerate(indices)}
    labels = {i: case["temp_labels"][k] for k, i in enumerate(indices)}
    paths = []
    for t in range(count):
        path = folder / f"{t:05d}.png"
        Image.fromarray(frames_u8.get(t, case["frames_u8"][0])).save(path)
        paths.append(path)
    height, width = case["frames_u8"].shape[1:3]
    pseudo = [labels.get(t, np.zeros((height, width), dtype=np.uint8)) for t in range(count)]
    config = replace(load_config(f"stcn_{loss}"), **{"ttt.resolution": None}).ttt
    assert config.augmentations == () and config.scale == config.ratio == (1.0, 1.0)
    sampler = SequenceSampler(
        FrameSequence(tuple(paths), (height, width), (height, width)),
        pseudo,
        [0],
        config,
        np.random.default_rng(0),
        check_last=loss == "mcc",
        draws=FixedDraws(tuple(indices)),
    )
    return sampler.sample(max_jump=config.max_jump[0], seq_len=len(indices))


@pytest.mark.parametrize("loss", ["mcc", "ae", "ent"])
def test_sample_equals_the_reference_loader(golden, loss, tmp_path):
    case = golden(f"ttt_{loss}")
    sample = golden_sample(case, loss, tmp_path)
    assert sample is not None
    assert sample.frame_indices == tuple(int(i) for i in case["frames_idx"])
    torch.testing.assert_close(sample.images, torch.from_numpy(case["rgb"][0]), rtol=0, atol=1e-6)
    objects = int(case["selector"][0].sum())
    assert sample.masks.shape[0] == objects == case["gt"].shape[1]
    torch.testing.assert_close(sample.masks, torch.from_numpy(case["gt"][0, :, 0]), rtol=0, atol=0)
    torch.testing.assert_close(sample.others, torch.from_numpy(case["sec_gt"][0, :, 0]), rtol=0, atol=0)
    assert torch.equal(sample.labels, torch.from_numpy(case["cls_gt"][0, 0]))

"""The per-video adaptation loop: reset to the pretrained weights, train, hand back the network.

Faithful schedule (the reference's order of operations, ``test_time_train_one_video``):

1. inference with the pretrained weights -> pseudo-masks of every frame;
2. for each of ``jump_steps`` rounds and each (max_jump, seq_len) stage: tt-MCC first refreshes the
   pseudo-masks with the current weights; a new Adam optimiser (lr, weight decay 1e-7) takes
   ``iters_per_jump`` steps, each on ``batch_size`` freshly drawn sequences;
3. the caller segments the video with the adapted weights.

The reference also refreshes the pseudo-masks before the very first stage, with weights that are
still the pretrained ones: that inference repeats step 1 exactly, so it is skipped here.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ttvos.config import Config
from ttvos.data.video import LoadedVideo
from ttvos.inference.segment import segment_video
from ttvos.model.stcn import STCN
from ttvos.ttt.freezing import apply_freezing, trainable_parameters
from ttvos.ttt.losses import LOSSES
from ttvos.ttt.sampler import SequenceSampler


@dataclass(frozen=True)
class StepLog:
    """One Adam step: where it is in the schedule, its loss and the frames it trained on."""

    jump_step: int
    stage: int
    iteration: int
    loss: float
    frames: tuple[tuple[int, ...], ...]


def video_seed(seed: int, video_name: str) -> int:
    """A video's random state depends only on the run seed and its name (not on video order)."""
    digest = hashlib.sha256(f"{seed}/{video_name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy's legacy global state and torch (CPU and CUDA); return our generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def pseudo_masks(network: STCN, video: LoadedVideo, config: Config) -> list[np.ndarray]:
    """Current predictions of every frame: ``H*W`` uint8 contiguous ids at the original size.

    Frames before the first annotated one are all background (they are never trained on).
    """
    masks = [np.zeros(video.frames.original_size, dtype=np.uint8) for _ in range(len(video.frames))]
    for mask in segment_video(network, video, config.inference, amp=config.amp):
        masks[mask.index] = mask.labels
    return masks


class TestTimeTrainer:
    """Adapts one network to video after video, restoring the pretrained weights every time.

    The network is trained in eval mode (BatchNorm keeps its running statistics, as in the
    reference), so the adapted network segments the video directly afterwards.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, network: STCN) -> None:
        self.network = network
        self.pretrained = {key: value.detach().clone() for key, value in network.state_dict().items()}

    def reset(self) -> None:
        """Pretrained weights back in place, nothing trainable."""
        with torch.no_grad():
            self.network.load_state_dict(self.pretrained)
        self.network.eval()
        self.network.requires_grad_(False)

    def adapt(self, video: LoadedVideo, config: Config, seed: int) -> Iterator[StepLog]:
        """Reset, then train on ``video``; yields after every Adam step. No-op for ``loss: none``."""
        self.reset()
        ttt = config.ttt
        if not ttt.enabled:
            return
        rng = seed_everything(video_seed(seed, video.video.name))
        apply_freezing(self.network, ttt.frozen)
        parameters = trainable_parameters(self.network)
        device = next(self.network.parameters()).device
        use_amp = config.amp and device.type == "cuda"
        loss_function = LOSSES[ttt.loss]
        annotated = sorted(video.annotations)
        masks = pseudo_masks(self.network, video, config)
        for jump_step in range(ttt.jump_steps):
            for stage, (max_jump, seq_len) in enumerate(ttt.stages()):
                if ttt.loss == "mcc" and (jump_step, stage) != (0, 0):
                    masks = pseudo_masks(self.network, video, config)
                sampler = SequenceSampler(
                    video.frames, masks, annotated, ttt, rng, check_last=ttt.loss == "mcc"
                )
                optimizer = torch.optim.Adam(parameters, lr=ttt.lr, weight_decay=ttt.weight_decay)
                scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
                for iteration in range(ttt.iters_per_jump):
                    optimizer.zero_grad(set_to_none=True)
                    total, frames = 0.0, []
                    for _ in range(ttt.batch_size):
                        sample = sampler.sample(max_jump, seq_len)
                        if sample is None:
                            continue
                        with _autocast(use_amp):
                            loss = loss_function(self.network, sample.to(device)).loss / ttt.batch_size
                        scaler.scale(loss).backward()
                        total += float(loss.detach())
                        frames.append(sample.frame_indices)
                    if frames:
                        scaler.step(optimizer)
                        scaler.update()
                    yield StepLog(jump_step, stage, iteration, total, tuple(frames))
        self.network.requires_grad_(False)


def _autocast(enabled: bool) -> contextlib.AbstractContextManager[None]:
    return torch.autocast("cuda", dtype=torch.float16) if enabled else contextlib.nullcontext()

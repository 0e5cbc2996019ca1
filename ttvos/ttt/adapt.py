"""The per-video adaptation loop: reset to the pretrained weights, train, hand back the network.

Faithful schedule (the reference's order of operations, ``test_time_train_one_video``):

1. inference with the pretrained weights -> pseudo-masks of every frame;
2. for each of ``jump_steps`` rounds and each (max_jump, seq_len) stage: tt-MCC first refreshes the
   pseudo-masks with the current weights; a new Adam optimiser (lr, weight decay 1e-7) takes
   ``iters_per_jump`` steps, each on ``batch_size`` freshly drawn sequences;
3. the caller segments the video with the adapted weights.

The frames of the training sequences are drawn at random, or replayed (``draws``), e.g. those a
run recorded in its logs or those the reference drew (``shared/golden/replay``).

The reference also refreshes the pseudo-masks before the very first stage, with weights that are
still the pretrained ones: that inference repeats step 1 exactly, so it is skipped here. Each
pseudo-mask inference stops at the last frame the sampler can use (:func:`sampled_horizon`), and the
frames read are kept in memory for the whole adaptation: the same numbers, less work.

The ``fast`` schedule (``ttt.schedule: fast``, the ``*_fast`` configs) keeps the losses, sampler and
refreshes, but one Adam optimiser runs through the whole adaptation (its moment estimates carry
over the rounds instead of restarting every round), and tt-MCC refreshes its pseudo-masks once per
round rather than once per stage: the configs then take fewer, larger steps (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ttvos.config import Config, TTTConfig
from ttvos.data.video import CachedFrames, LoadedVideo
from ttvos.inference.precision import autocast, needs_grad_scaling
from ttvos.inference.segment import segment_video
from ttvos.ttt.freezing import apply_freezing, trainable_parameters
from ttvos.ttt.losses import LOSSES, TrainingSample
from ttvos.ttt.sampler import Draw, FrameDraws, RandomDraws, SequenceSampler


@dataclass(frozen=True)
class StepLog:
    """One Adam step: where it is in the schedule, its loss and the frames it trained on.

    ``frames``: the frames of each trained sequence (after the reference's fallback); ``draws``:
    what each of the step's ``batch_size`` sequences drew, skipped ones included (for replays).
    """

    jump_step: int
    stage: int
    iteration: int
    loss: float
    frames: tuple[tuple[int, ...], ...]
    draws: tuple[Draw, ...] = ()


@dataclass
class AdaptTrace:
    """What a replay check compares, kept only when asked: every pseudo-mask inference (the initial
    one, then tt-MCC's refreshes) and every training sample, on the CPU, in training order."""

    pseudo_masks: list[list[np.ndarray]] = field(default_factory=list)
    samples: list[TrainingSample] = field(default_factory=list)


def video_seed(seed: int, video_name: str) -> int:
    """A video's random state depends only on the run seed and its name (not on video order)."""
    digest = hashlib.sha256(f"{seed}/{video_name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def sequence_lengths(ttt: TTTConfig) -> list[int]:
    """The seq_len of every training sequence of the schedule, in training order."""
    per_stage = [seq_len for _, seq_len in ttt.stages()]
    steps = ttt.iters_per_jump * ttt.batch_size
    return [n for _ in range(ttt.jump_steps) for n in per_stage for _ in range(steps)] if ttt.enabled else []


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy's legacy global state and torch (CPU and CUDA); return our generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def pseudo_masks(
    network: nn.Module, video: LoadedVideo, config: Config, *, until: int | None = None
) -> list[np.ndarray]:
    """Current predictions of every frame: ``H*W`` uint8 contiguous ids at the original size.

    Frames before the first annotated one are all background (they are never trained on), and so
    are the frames after ``until`` (not computed: the sampler never reads them).
    """
    masks = [np.zeros(video.frames.original_size, dtype=np.uint8) for _ in range(len(video.frames))]
    for mask in segment_video(network, video, config.inference, amp=config.amp, until=until):
        masks[mask.index] = mask.labels
    return masks


def sampled_horizon(ttt: TTTConfig, annotated: list[int], draws: FrameDraws) -> int | None:
    """The last frame whose pseudo-mask can change a training sequence (``None``: any frame).

    A sequence starts at an annotated frame and each next frame is at most ``max_jump`` further,
    so tt-MCC (which checks its last frame's objects) reads frames up to ``(seq_len - 1) *
    max_jump`` after the last annotated one; tt-AE and tt-Ent read only the annotated frames' masks.
    Replayed draws may name any frame.
    """
    if not isinstance(draws, RandomDraws):
        return None
    if ttt.loss != "mcc":
        return max(annotated)
    return max(annotated) + max((seq_len - 1) * max_jump for max_jump, seq_len in ttt.stages())


class TestTimeTrainer:
    """Adapts one network (STCN or XMem) to video after video, restoring the pretrained weights every time.

    The network is trained in eval mode (BatchNorm keeps its running statistics, as in the
    reference), so the adapted network segments the video directly afterwards.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, network: nn.Module) -> None:
        self.network = network
        self.pretrained = {key: value.detach().clone() for key, value in network.state_dict().items()}

    def reset(self) -> None:
        """Pretrained weights back in place, nothing trainable."""
        with torch.no_grad():
            self.network.load_state_dict(self.pretrained)
        self.network.eval()
        self.network.requires_grad_(False)

    def adapt(
        self,
        video: LoadedVideo,
        config: Config,
        seed: int,
        *,
        draws: FrameDraws | None = None,
        trace: AdaptTrace | None = None,
    ) -> Iterator[StepLog]:
        """Reset, then train on ``video``; yields after every Adam step. No-op for ``loss: none``.

        ``draws``: where the sequences' frames come from (default: drawn at random); ``trace``
        collects the pseudo-masks and samples.
        """
        self.reset()
        ttt = config.ttt
        if not ttt.enabled:
            return
        annotated = sorted(video.annotations)
        draws = draws or RandomDraws()
        draws.start(len(video.frames), annotated, sequence_lengths(ttt))
        until = None if trace is not None else sampled_horizon(ttt, annotated, draws)
        video = dataclasses.replace(video, frames=CachedFrames(video.frames))
        this_seed = video_seed(seed, video.video.name)
        rng = seed_everything(this_seed)
        apply_freezing(self.network, ttt.frozen)
        parameters = trainable_parameters(self.network)
        device = next(self.network.parameters()).device
        fast = ttt.schedule == "fast"
        loss_function = LOSSES[ttt.loss]
        masks = pseudo_masks(self.network, video, config, until=until)
        if trace is not None:
            trace.pseudo_masks.append(masks)
        optimizer: torch.optim.Adam | None = None
        for jump_step in range(ttt.jump_steps):
            for stage, (max_jump, seq_len) in enumerate(ttt.stages()):
                refresh = stage == 0 if fast else True
                if ttt.loss == "mcc" and refresh and (jump_step, stage) != (0, 0):
                    masks = pseudo_masks(self.network, video, config, until=until)
                    if trace is not None:
                        trace.pseudo_masks.append(masks)
                sampler = SequenceSampler(
                    video.frames,
                    masks,
                    annotated,
                    ttt,
                    rng,
                    check_last=ttt.loss == "mcc",
                    draws=draws,
                    seed=(this_seed, jump_step, stage),
                )
                if optimizer is None or not fast:
                    optimizer = torch.optim.Adam(parameters, lr=ttt.lr, weight_decay=ttt.weight_decay)
                    scaler = torch.amp.GradScaler(device.type, enabled=needs_grad_scaling(config.amp, device))
                for iteration in range(ttt.iters_per_jump):
                    optimizer.zero_grad(set_to_none=True)
                    total, frames, drawn = 0.0, [], []
                    for _ in range(ttt.batch_size):
                        draw, sample = sampler.draw_sample(max_jump, seq_len)
                        drawn.append(draw)
                        if sample is None:
                            continue
                        if trace is not None:
                            trace.samples.append(sample)
                        with autocast(config.amp, device):
                            loss = loss_function(self.network, sample.to(device)).loss / ttt.batch_size
                        scaler.scale(loss).backward()
                        total += float(loss.detach())
                        frames.append(sample.frame_indices)
                    if frames:
                        scaler.step(optimizer)
                        scaler.update()
                    yield StepLog(jump_step, stage, iteration, total, tuple(frames), tuple(drawn))
        self.network.requires_grad_(False)

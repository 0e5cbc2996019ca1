"""STCN's and XMem's offline training recipes as a typed configuration, with official and tiny presets.

STCN's recipe (hkchengrex/STCN ``train.py``, ``util/hyper_para.py``, ``model/losses.py``): 3-frame
sequences whose largest gap grows along a curriculum, Adam (weight decay 1e-7) with a step decay,
bootstrapped cross-entropy (plain CE first, then the hardest ``top_p`` pixels, annealed from 100 % to
15 %), BatchNorm frozen (its encoders start from ImageNet weights). Schedules are stored as fractions of
``iterations`` so that a shorter run keeps the shape of the official one.

XMem's main training (hkchengrex/XMem ``train.py``, ``util/configuration.py`` stage 3, ``model/trainer.py``,
``model/losses.py``): 8-frame sequences, frames beyond the 3rd reading frame 0 and 2 random earlier
frames, the hidden state deep-updated with probability 0.2, up to 3 objects, AdamW (weight decay
0.05), the same bootstrapped CE plus a dice loss, BatchNorm frozen. Not reproduced: its last 10,000
iterations ("finetune") with no per-frame rotation and shear; ``xmem_s03`` applies them all along.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ttvos.config import dataclass_from_dict
from ttvos.errors import UserError
from ttvos.model.sizes import SIZES

SourceKind = Literal["synthetic", "synthetic-static", "davis", "youtube", "davis+youtube", "static-folder"]
Init = Literal["scratch", "imagenet"]
_STILL_SOURCES = ("synthetic-static", "static-folder")


@dataclass(frozen=True)
class TrainConfig:
    """One training run (defaults: STCN's main training, stage 3)."""

    model: Literal["stcn", "xmem"] = "stcn"  # network family (the run config's `model`)
    size: str = "full"  # network size (ttvos.model.sizes.SIZES)
    source: SourceKind = "davis+youtube"  # where sequences come from (STCN: DAVIS x5 + YouTube-VOS)
    init: Init = "imagenet"  # encoder initialisation; 'imagenet' downloads torchvision's ResNet weights
    iterations: int = 150_000  # Adam steps
    batch_size: int = 4  # sequences per step
    lr: float = 1e-5  # Adam learning rate
    weight_decay: float = 1e-7  # Adam weight decay
    lr_steps: tuple[float, ...] = (125_000 / 150_000,)  # fractions of iterations where lr *= gamma
    gamma: float = 0.1
    skip_values: tuple[int, ...] = (5, 10, 15, 20, 25, 5)  # max gap between sampled frames, per phase
    skip_fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.9)  # where each phase starts
    bootstrap_start: float = 20_000 / 150_000  # plain CE before this fraction of the run
    bootstrap_end: float = 70_000 / 150_000  # top_p reached at this fraction
    top_p: float = 0.15  # fraction of hardest pixels kept at the end of the annealing
    crop: tuple[int, int] = (384, 384)  # training crop (height, width), multiples of 16
    crop_scale: tuple[float, float] = (0.36, 1.0)  # random-resized-crop area range
    max_objects: int = 2  # target object + second object (STCN's sec_gt)
    batch_norm: Literal["frozen", "train"] = "frozen"  # frozen: running statistics, as STCN
    synthetic_videos: int = 512  # synthetic sources: videos in the generated pool
    synthetic_frames: int = 16  # synthetic sources: frames per generated video
    synthetic_size: tuple[int, int] = (80, 120)  # synthetic sources: generated frame size (before crop)
    checkpoint_every: int = 5000  # iterations between resumable checkpoints
    optimizer: Literal["adam", "adamw"] = "adam"  # STCN: Adam (L2 weight decay); XMem: AdamW (decoupled)
    seq_len: int = 3  # frames per sequence, frame 0 included (STCN: 3; XMem: 8)
    num_ref_frames: int = 3  # XMem: memory frames read by each frame beyond the first num_ref_frames
    deep_update_prob: float = 0.2  # XMem: chance that a frame joining the memory deep-updates the state

    def max_skip(self, iteration: int) -> int:
        """The curriculum: the gap of the last phase started at ``iteration``."""
        fraction = iteration / max(self.iterations, 1)
        started = [v for v, f in zip(self.skip_values, self.skip_fractions, strict=True) if fraction >= f]
        return started[-1]

    def lr_at(self, iteration: int) -> float:
        passed = sum(iteration >= round(f * self.iterations) for f in self.lr_steps)
        return self.lr * self.gamma**passed

    def hard_fraction(self, iteration: int) -> float:
        """Bootstrapped CE: fraction of pixels (hardest first) that count at ``iteration``."""
        start, end = self.bootstrap_start * self.iterations, self.bootstrap_end * self.iterations
        if iteration < start:
            return 1.0
        if iteration > end:
            return self.top_p
        return self.top_p + (1 - self.top_p) * (end - iteration) / max(end - start, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def check(self) -> None:
        """Raise ``ValueError`` with a one-line reason for settings that cannot train."""
        if self.size not in SIZES:
            raise ValueError(f"size {self.size!r}: use one of {', '.join(SIZES)}")
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError("iterations and batch_size must be positive")
        if any(c % 16 for c in self.crop):
            raise ValueError(f"crop {self.crop}: both sides must be multiples of 16")
        if len(self.skip_values) != len(self.skip_fractions) or self.skip_fractions[:1] != (0.0,):
            raise ValueError("skip_fractions must start at 0 and have one entry per skip value")
        if self.init == "imagenet" and self.size != "full":
            raise ValueError("ImageNet initialisation exists only for the full size; use init scratch")
        if self.model == "stcn" and self.seq_len != 3:
            raise ValueError(f"seq_len {self.seq_len}: STCN trains on 3-frame sequences")
        if self.model == "xmem" and (self.seq_len < 2 or not 1 <= self.num_ref_frames):
            raise ValueError("XMem needs seq_len >= 2 and num_ref_frames >= 1")
        if self.model == "xmem" and self.source in _STILL_SOURCES:
            raise ValueError(f"source {self.source}: XMem trains on video sources here")


# The tiny presets train the embedded checkpoints (docs/demo.md) on two CPU cores: from scratch, so
# BatchNorm trains; a larger learning rate; gaps scaled to 16-frame synthetic videos.
_TINY = dict(
    size="tiny",
    init="scratch",
    iterations=2000,
    batch_size=8,
    lr=1e-3,
    lr_steps=(0.75,),
    gamma=0.25,
    skip_values=(1, 2, 3, 4, 5, 2),
    crop=(64, 96),
    crop_scale=(0.5, 1.0),
    batch_norm="train",
    checkpoint_every=250,
)
# XMem's stage 3 (s03): its 100,000 iterations plus the 10,000 of fine-tuning as one run, so the
# schedules are fractions of 110,000 (skip 5 -> 10 at 10 %, 15 at 30 %, 5 at 90 % of 100,000).
_XMEM_ITERATIONS = 110_000
_XMEM = dict(
    model="xmem",
    optimizer="adamw",
    weight_decay=0.05,
    seq_len=8,
    num_ref_frames=3,
    deep_update_prob=0.2,
    max_objects=3,
)
PRESETS: dict[str, TrainConfig] = {
    "stcn_s03": TrainConfig(),
    "stcn_s0": TrainConfig(
        source="static-folder",
        iterations=300_000,
        batch_size=8,
        lr_steps=(0.5,),
        max_objects=1,
    ),
    "tiny": TrainConfig(source="synthetic", **_TINY),
    "tiny_s0": TrainConfig(source="synthetic-static", max_objects=1, **_TINY),
    "xmem_s03": TrainConfig(
        iterations=_XMEM_ITERATIONS,
        batch_size=8,
        lr_steps=(80_000 / _XMEM_ITERATIONS,),
        skip_values=(5, 10, 15, 5),
        skip_fractions=(0.0, 10_000 / _XMEM_ITERATIONS, 30_000 / _XMEM_ITERATIONS, 90_000 / _XMEM_ITERATIONS),
        bootstrap_start=20_000 / _XMEM_ITERATIONS,
        bootstrap_end=70_000 / _XMEM_ITERATIONS,
        **_XMEM,
    ),
    # The tiny XMem (ttvos/embedded/tiny_xmem.pth): the tiny STCN's settings, XMem's sequences and
    # loss, gaps scaled as the tiny STCN's (XMem's 5/10/15/5 -> 1/2/3/1 on 16-frame videos).
    "xmem_tiny": TrainConfig(
        source="synthetic",
        **{
            **_TINY,
            **_XMEM,
            "iterations": 900,  # ~40 min on one CPU thread (2.6 s per iteration)
            "skip_values": (1, 2, 3, 1),
            "skip_fractions": (0.0, 0.1, 0.3, 0.9),
        },
    ),
}


def resolve_recipe(preset: str, overrides: dict[str, Any]) -> TrainConfig:
    """A preset with the given settings replaced (``None`` = keep), validated like a config file."""
    if preset not in PRESETS:
        raise UserError(f"--preset {preset}: unknown recipe; use one of {', '.join(PRESETS)}")
    given = {key: value for key, value in overrides.items() if value is not None}
    return dataclass_from_dict(TrainConfig, {**PRESETS[preset].to_dict(), **given}, f"recipe {preset}")

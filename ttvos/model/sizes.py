"""Network sizes of the STCN family: the official full size, and a tiny one that trains on a CPU.

The size is part of a checkpoint written by ttvos (``save_checkpoint``), so a file alone says which
network to build; the official checkpoints are plain state dicts and mean the full size. Every size
has the same modules, the same state-dict key pattern and the same ``encode_key`` / ``encode_value``
/ ``affinity`` / ``read`` / ``decode`` calls: only widths and depths change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

SizeName = Literal["full", "tiny"]


@dataclass(frozen=True)
class ModelSize:
    """Widths and depths of the STCN network (defaults: the official network)."""

    name: str = "full"
    stem_dim: int = 64  # key encoder: channels of the 7x7 stem
    key_widths: tuple[int, int, int] = (64, 128, 256)  # bottleneck widths of res2 / layer2 / layer3 (x4 out)
    key_blocks: tuple[int, int, int] = (3, 4, 6)  # bottlenecks per stage (ResNet-50 to layer3)
    value_widths: tuple[int, int, int] = (64, 128, 256)  # value encoder (mod ResNet-18) stage widths
    key_dim: int = 64  # matching key channels
    value_dim: int = 512  # memory value channels (also the decoder's compressed query features)
    decoder_dims: tuple[int, int] = (512, 256)  # decoder widths at stride 16 and at strides 8 / 4

    @property
    def f16_dim(self) -> int:
        return self.key_widths[2] * 4

    @property
    def f8_dim(self) -> int:
        return self.key_widths[1] * 4

    @property
    def f4_dim(self) -> int:
        return self.key_widths[0] * 4

    def to_dict(self) -> dict[str, Any]:
        return {key: list(v) if isinstance(v, tuple) else v for key, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelSize:
        """Inverse of :meth:`to_dict`; unknown keys are an error (a newer ttvos wrote the file)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(f"unknown model size fields {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


FULL = ModelSize()
# 0.5 M parameters: trains to a useful model on synthetic videos in minutes on two CPU cores.
TINY = ModelSize(
    name="tiny",
    stem_dim=16,
    key_widths=(8, 16, 32),
    key_blocks=(1, 1, 2),
    value_widths=(16, 32, 64),
    key_dim=32,
    value_dim=64,
    decoder_dims=(64, 32),
)
SIZES: dict[str, ModelSize] = {"full": FULL, "tiny": TINY}

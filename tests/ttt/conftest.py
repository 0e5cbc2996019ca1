"""Tiny synthetic videos for the adaptation tests (64x96, a few frames)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttvos.config import Config, load_config, replace
from ttvos.data.synthetic import make_synthetic_video, save_video
from ttvos.data.video import VOSVideo, load_video


def tiny_video(root: Path, name: str, seed: int, frames: int = 5) -> VOSVideo:
    save_video(make_synthetic_video(frames, 64, 96, seed=seed), root / name / "frames", root / name / "masks")
    return VOSVideo(
        name, tuple(sorted((root / name / "frames").glob("*.jpg"))), {0: root / name / "masks" / "00000.png"}
    )


@pytest.fixture(scope="session")
def tiny_videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return [load_video(tiny_video(root, f"video{i}", seed=10 + i), resolution=None) for i in range(2)]


def tiny_config(name: str, **overrides) -> Config:
    """A paper config shrunk to 2 rounds x 2 steps at native size."""
    settings = {
        "ttt.jump_steps": 2,
        "ttt.iters_per_jump": 2,
        "inference.resolution": None,
        "ttt.resolution": None,
    }
    settings.update(overrides)
    return replace(load_config(name), **settings)

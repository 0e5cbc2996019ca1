"""Tiny datasets in every layout and shrunken TTT configs for running the CLI end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ttvos.config import load_config, replace, save_config
from ttvos.data.synthetic import make_synthetic_video, write_davis, write_davis_c, write_mose, write_youtube

VIDEO_NAMES = ("alpha", "beta", "gamma")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """DAVIS val + test-dev, DAVIS-C (brightness low/med), YouTube-VOS and MOSE: 3 videos, 5 frames, 64x96."""
    root = tmp_path_factory.mktemp("data")
    videos = {name: make_synthetic_video(5, 64, 96, seed=20 + i) for i, name in enumerate(VIDEO_NAMES)}
    write_davis_c(root, videos, [("brightness", "med"), ("brightness", "low")])
    write_davis(root, videos, split="test-dev")
    write_youtube(root, videos, every=2, late_object=1)
    write_mose(root, videos)
    return root


@pytest.fixture(scope="session")
def configs(tmp_path_factory) -> Path:
    """tiny_mcc / tiny_ae / tiny_ent: the paper's configs with 1 round x 2 steps at native size."""
    folder = tmp_path_factory.mktemp("configs")
    for loss in ("mcc", "ae", "ent"):
        config = replace(
            load_config(f"stcn_{loss}"),
            name=f"tiny_{loss}",
            **{
                "ttt.jump_steps": 1,
                "ttt.iters_per_jump": 2,
                "inference.resolution": None,
                "ttt.resolution": None,
            },
        )
        save_config(config, folder / f"tiny_{loss}.yaml")
    return folder


def run_arguments(data_root: Path, weights: Path, output: Path, *options: str) -> list[str]:
    """``ttvos run`` arguments on the tiny data, CPU, quiet, with the given weights and output."""
    return [
        "run",
        *options,
        "--data-root",
        str(data_root),
        "--weights",
        str(weights),
        "--output",
        str(output),
        "--device",
        "cpu",
        "--quiet",
    ]


def read_png(path: Path) -> tuple[str, np.ndarray]:
    with Image.open(path) as image:
        return image.mode, np.array(image)


def tree_masks(folder: Path) -> dict[str, np.ndarray]:
    """Every mask PNG below ``folder`` (relative path -> ids); logs and run.yaml are left out."""
    return {p.relative_to(folder).as_posix(): read_png(p)[1] for p in sorted(folder.rglob("*.png"))}

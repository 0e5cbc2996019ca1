"""The embedded default job: segment a generated video with the stand-in weights, no downloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ttvos.data.io import write_mask
from ttvos.data.synthetic import make_synthetic_video, save_video
from ttvos.data.video import VOSVideo, load_video
from ttvos.inference.segment import FrameMask, segment_video
from ttvos.model.checkpoint import load_stcn
from ttvos.model.standin import standin_state_dict

DEMO_VIDEO = "synthetic"


@dataclass(frozen=True)
class DemoVideo:
    """Where the demo's input lies and where its masks go."""

    video: VOSVideo
    masks_dir: Path


def prepare_demo(output: Path, *, num_frames: int, height: int, width: int, seed: int = 0) -> DemoVideo:
    """Write the synthetic video (JPEG frames + first-frame palette mask) under ``output/input``."""
    synthetic = make_synthetic_video(num_frames, height, width, num_objects=2, seed=seed)
    frames_dir = output / "input" / "JPEGImages" / DEMO_VIDEO
    masks_dir = output / "input" / "Annotations" / DEMO_VIDEO
    save_video(synthetic, frames_dir, masks_dir)
    video = VOSVideo(DEMO_VIDEO, tuple(sorted(frames_dir.glob("*.jpg"))), {0: masks_dir / "00000.png"})
    return DemoVideo(video, output / "masks" / DEMO_VIDEO)


def run_demo(demo: DemoVideo, device: torch.device) -> Iterator[FrameMask]:
    """Segment the demo video with the stand-in STCN, writing one palette PNG per frame."""
    network = load_stcn(standin_state_dict(), device)
    loaded = load_video(demo.video, resolution=None)
    demo.masks_dir.mkdir(parents=True, exist_ok=True)
    for mask in segment_video(network, loaded):
        write_mask(demo.masks_dir / demo.video.output_name(mask.index), mask.labels)
        yield mask

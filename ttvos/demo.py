"""The embedded default job: the paper's experiment in miniature, offline, on a CPU.

A test set of generated scene videos (generator seeds 0..N-1; the embedded model was trained on seeds
from 1,000,000 on, so it has never seen them) is written in the DAVIS layout with ground truth for
every frame, and corrupted into a DAVIS-C tree with the paper's corruptions at its three levels. The
embedded tiny STCN (``--weights tiny``, trained on clean videos) segments the clean and the shifted
videos without adaptation (config ``tiny``) and after test-time training (``tiny_mcc``, and the other
losses when asked), for several seeds; ``ttvos evaluate`` then scores everything against the truth.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ttvos.config import load_config, replace, save_config
from ttvos.corruptions.tree import CorruptRequest, OutputWritten, prepare_corruption, run_plan
from ttvos.data.io import list_frames, read_frame, read_mask
from ttvos.data.overlay import contact_sheet, overlay
from ttvos.data.scenes import make_scene_video
from ttvos.data.synthetic import write_davis
from ttvos.errors import UserError
from ttvos.sweep import SweepRequest

BASELINE = "tiny"
LOSSES = ("mcc", "ent", "ae")


@dataclass(frozen=True)
class DemoPlan:
    """What the demo generates and runs (defaults: the README's ``make demo``)."""

    videos: int = 4  # test videos
    frames: int = 16  # frames per video
    size: tuple[int, int] = (128, 192)  # generated frame size (the tiny configs run at shorter side 128)
    corruptions: tuple[str, ...] = ("gaussian_noise", "defocus_blur")
    levels: tuple[str, ...] = ("low", "med", "high")
    losses: tuple[str, ...] = ("mcc",)  # tt-MCC; add "ent", "ae" for the other losses
    seeds: tuple[int, ...] = (1, 2, 3)
    overrides: dict[str, object] = field(default_factory=dict)  # config changes for every config
    ttt_overrides: dict[str, object] = field(default_factory=dict)  # config changes for the TTT configs

    @property
    def configs(self) -> list[str]:
        return [BASELINE] + [f"{BASELINE}_{loss}" for loss in self.losses]

    def video_names(self) -> list[str]:
        return [f"scene{index:02d}" for index in range(self.videos)]


# The test suite's reduced demo: 2 short videos, 1 corruption at 1 level, 1 jump step, 1 seed.
QUICK = DemoPlan(
    videos=2,
    frames=6,
    size=(64, 96),
    corruptions=("gaussian_noise",),
    levels=("med",),
    seeds=(1,),
    overrides={"inference.resolution": "native", "ttt.resolution": "native"},
    ttt_overrides={"ttt.jump_steps": 1, "ttt.iters_per_jump": 2},
)


def demo_plan(losses: str, *, quick: bool = False) -> DemoPlan:
    """The full or quick plan comparing the baseline with the comma-separated ``losses``."""
    chosen = tuple(loss.strip() for loss in losses.split(",") if loss.strip())
    if not chosen or any(loss not in LOSSES for loss in chosen):
        raise UserError(f"--losses {losses}: use one or more of {', '.join(LOSSES)}")
    return dataclasses.replace(QUICK if quick else DemoPlan(), losses=chosen)


def write_benchmark(root: Path, plan: DemoPlan) -> Iterator[OutputWritten]:
    """Write the clean DAVIS tree, then its DAVIS-C corruptions (yields each corrupted video).

    The tree is rebuilt from scratch, so it never mixes files of another plan.
    """
    shutil.rmtree(root, ignore_errors=True)
    height, width = plan.size
    videos = {
        name: make_scene_video(seed, num_frames=plan.frames, height=height, width=width)
        for seed, name in enumerate(plan.video_names())
    }
    write_davis(root, videos)
    request = CorruptRequest(source=root, corruptions=plan.corruptions, levels=plan.levels)
    yield from run_plan(prepare_corruption(request))


def demo_requests(output: Path, plan: DemoPlan, device: str) -> list[SweepRequest]:
    """The sweeps over the clean DAVIS set and the shifted DAVIS-C sets: the baseline once (it has
    nothing random: every seed would give the same masks), each TTT config for every seed of ``plan``."""
    baseline, adapted = [], []
    for name in plan.configs:
        config = replace(load_config(name), "demo", **plan.overrides)
        if config.ttt.enabled:
            config = replace(config, "demo", **plan.ttt_overrides)
        path = str(save_config(config, output / "configs" / f"{name}.yaml", force=True))
        (adapted if config.ttt.enabled else baseline).append(path)
    shifted = [f"{corruption}/{level}" for corruption in plan.corruptions for level in plan.levels]
    common = dict(output=output / "results", data_root=output / "data", device=device, overwrite=True)
    return [
        SweepRequest(configs=configs, seeds=list(seeds), dataset=dataset, corruptions=corruptions, **common)
        for dataset, corruptions in (("davis", []), ("davis-c", shifted))
        for configs, seeds in ((baseline, plan.seeds[:1]), (adapted, plan.seeds))
    ]


def use_one_thread(device: torch.device) -> None:
    """One intra-op thread on the CPU: the tiny network's operations are too small to split, and
    extra threads make it many times slower on a busy machine (docs/demo.md)."""
    if device.type == "cpu":
        torch.set_num_threads(1)


def before_after_sheet(output: Path, plan: DemoPlan, *, frames: int = 5) -> Path:
    """A contact sheet of the first video under the first corruption at the last level: the input,
    the truth, the baseline's masks and each loss's masks (first seed), for a few frames."""
    video, corruption, level, seed = (
        plan.video_names()[0],
        plan.corruptions[0],
        plan.levels[-1],
        plan.seeds[0],
    )
    data, results = output / "data", output / "results" / "davis-c" / corruption / level
    inputs = list_frames(data / "DAVIS-C" / level / corruption / video)
    chosen = np.linspace(0, len(inputs) - 1, num=min(frames, len(inputs))).round().astype(int)
    truth = data / "DAVIS" / "2017" / "trainval" / "Annotations" / "480p" / video
    images = [read_frame(inputs[i]) for i in chosen]
    rows = [images]
    for folder in [truth] + [results / name / f"seed{seed}" / video for name in plan.configs]:
        rows.append(
            [
                overlay(image, read_mask(folder / f"{inputs[i].stem}.png"))
                for i, image in zip(chosen, images, strict=True)
            ]
        )
    titles = [f"frame {i}" for i in chosen]
    row_titles = ["input", "truth"] + plan.configs
    path = output / "before_after.png"
    contact_sheet(rows, titles, row_titles).save(path)
    return path

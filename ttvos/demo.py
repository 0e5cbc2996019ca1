"""The embedded default job: the whole pipeline on generated data with the stand-in weights.

A small DAVIS-layout dataset of synthetic videos is written under ``OUTPUT/data``; ``ttvos run``'s
machinery segments it with the ``stcn`` baseline and with tt-MCC (the paper's ``stcn_mcc``
shrunk to a few Adam steps so that it finishes in seconds on a CPU), and the results are evaluated
against the generated ground truth. Nothing is downloaded; the stand-in weights are not trained, so
the numbers show that everything runs, not how well STCN segments.
"""

from __future__ import annotations

from pathlib import Path

from ttvos.config import load_config, replace, save_config
from ttvos.data.synthetic import make_synthetic_video, write_davis
from ttvos.sweep import SweepRequest

DEMO_VIDEOS = ("blobs-a", "blobs-b")
DEMO_TTT = {"ttt.jump_steps": 2, "ttt.iters_per_jump": 2}


def prepare_demo(output: Path, *, num_frames: int, height: int, width: int, device: str) -> SweepRequest:
    """Write the data and the shrunken tt-MCC config; return the sweep to run (baseline + TTT)."""
    videos = {
        name: make_synthetic_video(num_frames, height, width, num_objects=2, seed=index)
        for index, name in enumerate(DEMO_VIDEOS)
    }
    write_davis(output / "data", videos)
    config = replace(load_config("stcn_mcc"), name="stcn_mcc_demo", **DEMO_TTT)
    config_path = save_config(config, output / "configs" / "stcn_mcc_demo.yaml", force=True)
    return SweepRequest(
        configs=["stcn", str(config_path)],
        dataset="davis",
        output=output / "results",
        data_root=output / "data",
        weights="standin",
        resolution="native",
        device=device,
        overwrite=True,
    )

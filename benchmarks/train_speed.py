"""Benchmark: training iterations per second of ``ttvos train --preset tiny`` on this machine.

Times the Adam steps of the tiny recipe (batch 8, 3-frame sequences, data drawn and augmented in the
same process) after a warm-up, for each crop size and thread count asked, and prints the median,
minimum and maximum over the timed steps. Sequences come from an already generated pool, so the time
is what a long run spends per step.

    python benchmarks/train_speed.py [--crops 64x96 128x192] [--threads 1 2] [--steps 30] [--warmup 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ttvos.train.loop import Trainer, TrainRequest
from ttvos.train.recipe import PRESETS


def measure(crop: tuple[int, int], threads: int, steps: int, warmup: int) -> list[float]:
    torch.set_num_threads(threads)
    config = dataclasses.replace(
        PRESETS["tiny"], crop=crop, synthetic_size=(crop[0] * 5 // 4, crop[1] * 5 // 4), synthetic_videos=32
    )
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(TrainRequest(config, Path(folder)), torch.device("cpu"))
        seconds = []
        for index, _ in enumerate(trainer.run()):
            seconds.append(time.perf_counter())
            if index + 1 == warmup + steps + 1:
                break
    return [b - a for a, b in zip(seconds[warmup:], seconds[warmup + 1 :], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", nargs="+", default=["64x96"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available")
    for crop_text in args.crops:
        crop = tuple(int(v) for v in crop_text.split("x"))
        for threads in args.threads:
            times = measure(crop, threads, args.steps, args.warmup)  # type: ignore[arg-type]
            median = statistics.median(times)
            print(
                f"crop {crop_text} threads {threads}: {1 / median:.2f} it/s "
                f"(median {median * 1000:.0f} ms, min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, "
                f"{len(times)} steps)"
            )


if __name__ == "__main__":
    main()

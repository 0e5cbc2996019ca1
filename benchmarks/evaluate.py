"""Benchmark: evaluating a DAVIS-val-sized results tree with 1 and 2 worker processes.

30 sequences x 70 frames at 480x854 with 2 objects each (synthetic moving ellipses; predictions
are the ground truth shifted and with 2% of pixels flipped). The 1-worker time is the baseline of
the same run; the per-sequence cache is deleted before every measurement.

    python benchmarks/evaluate.py [--sequences 30] [--frames 70] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ttvos.data.io import write_mask
from ttvos.metrics.sequences import GroundTruth
from ttvos.metrics.tree import CACHE_FILE, RunInfo, TreeEvaluation

HEIGHT, WIDTH = 480, 854


def make_tree(root: Path, sequences: int, frames: int) -> tuple[GroundTruth, Path]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    truth = GroundTruth(root / "gt")
    results = root / "results"
    names = [f"seq{i:02d}" for i in range(sequences)]
    for name in names:
        (truth.annotations / name).mkdir(parents=True)
        (results / name).mkdir(parents=True)
        centres = rng.uniform((100, 150), (380, 700), size=(2, 2))
        speeds = rng.uniform(-3, 3, size=(2, 2))
        for t in range(frames):
            mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
            for obj, (centre, speed) in enumerate(zip(centres, speeds, strict=True), start=1):
                cy, cx = centre + speed * t
                mask[((yy - cy) / 90) ** 2 + ((xx - cx) / 140) ** 2 <= 1] = obj
            prediction = np.roll(mask, 3, axis=1)
            flip = rng.random(mask.shape) < 0.02
            prediction[flip] = rng.integers(0, 3, size=int(flip.sum()))
            write_mask(truth.annotations / name / f"{t:05d}.png", mask)
            write_mask(results / name / f"{t:05d}.png", prediction)
    (root / "gt" / "ImageSets" / "2017").mkdir(parents=True)
    (root / "gt" / "ImageSets" / "2017" / "val.txt").write_text("\n".join(names) + "\n")
    return truth, results


def measure(truth: GroundTruth, results: Path, workers: int) -> float:
    (results / CACHE_FILE).unlink(missing_ok=True)
    evaluation = TreeEvaluation([(RunInfo(results, "davis", "bench"), truth)], workers=workers)
    start = time.perf_counter()
    list(evaluation.run())
    seconds = time.perf_counter() - start
    assert evaluation.outcomes[0].summary is not None and evaluation.outcomes[0].evaluated == len(
        truth.sequences()
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--frames", type=int, default=70)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        truth, results = make_tree(Path(folder), args.sequences, args.frames)
        print(
            f"tree: {args.sequences} sequences x {args.frames} frames at {HEIGHT}x{WIDTH}, "
            f"written in {time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU cores"
        )
        timings = {w: min(measure(truth, results, w) for _ in range(args.repeats)) for w in (1, 2)}
        evaluated = args.sequences * (args.frames - 2) * 2
        for workers, seconds in timings.items():
            print(
                f"workers={workers}: {seconds:.1f} s ({1000 * seconds / evaluated:.1f} ms per object-frame), "
                f"speed-up x{timings[1] / seconds:.2f} vs 1 worker"
            )


if __name__ == "__main__":
    main()

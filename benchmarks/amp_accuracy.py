"""J&F with mixed precision (bfloat16 / float16 autocast) against full precision on the demo benchmark.

Segments every video of the demo's clean and shifted trees (``ttvos.demo``) with the embedded tiny
model (config ``tiny``, no adaptation) in float32 and under autocast, scores each with the official
J&F (``ttvos.metrics``) and prints the means and their difference. On a CPU without native
bfloat16 the autocast dtype is *forced* here (oneDNN then emulates it: slow, but the numbers are
those of a native run), so the change in J&F can be measured on any machine.

    python benchmarks/amp_accuracy.py --data /tmp/fast-schedule/data [--dtype bfloat16] [--device cuda]

``--data``: a tree written by ``benchmarks/fast_schedule.py`` (or ``ttvos demo``'s data folder).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ttvos.config import load_config
from ttvos.data.datasets import DatasetSource, open_dataset
from ttvos.data.io import write_mask
from ttvos.data.video import load_video
from ttvos.device import resolve_device
from ttvos.errors import UserError
from ttvos.families import FAMILIES
from ttvos.inference import precision
from ttvos.inference.segment import segment_video
from ttvos.metrics.sequences import GroundTruth, evaluate_sequence, summarize
from ttvos.weights import resolve_weights


def segment_tree(
    network: torch.nn.Module, source: DatasetSource, root: Path, output: Path, amp: object
) -> float:
    """Write the masks of every video of ``source`` under ``output``; return the seconds it took."""
    config = load_config("tiny")
    dataset = open_dataset(source, root, cache=output / ".cache")
    start = time.perf_counter()
    for name in dataset.names:
        video = dataset.video(name)
        loaded = load_video(video, config.inference.resolution)
        folder = output / name
        folder.mkdir(parents=True, exist_ok=True)
        for mask in segment_video(network, loaded, config.inference, amp=amp):  # type: ignore[arg-type]
            write_mask(folder / video.output_name(mask.index), loaded.to_file_ids(mask.labels))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--dtype", choices=("bfloat16", "float16"), default="bfloat16")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    try:
        device = resolve_device(args.device)
    except UserError as error:
        parser.exit(2, f"error: {error}\n")
    native = precision.unsupported(device, args.dtype) or "native"
    precision.cpu_native = lambda name: True  # force autocast even where oneDNN emulates the dtype
    network = FAMILIES["stcn"].build(resolve_weights("tiny", "stcn"), device)
    truth = GroundTruth(args.data / "DAVIS" / "2017" / "trainval")
    levels = sorted(p.name for p in (args.data / "DAVIS-C").iterdir() if p.is_dir())
    sources = [DatasetSource("davis")] + [
        DatasetSource("davis-c", corruption.name, level)
        for level in levels
        for corruption in sorted(p for p in (args.data / "DAVIS-C" / level).iterdir() if p.is_dir())
    ]
    scores: dict[str, list[tuple[float, float]]] = {"float32": [], args.dtype: []}
    seconds = dict.fromkeys(scores, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        for source in sources:
            for amp, label in ((False, "float32"), (args.dtype, args.dtype)):
                output = Path(folder) / label / "/".join(source.parts)
                seconds[label] += segment_tree(network, source, args.data, output, amp)
                summary = summarize([evaluate_sequence(truth, output, name) for name in truth.sequences()])
                scores[label].append((summary.jf, summary.values["J-Mean"]))
            print(f"{'/'.join(source.parts)}: J&F float32 {100 * scores['float32'][-1][0]:.2f}, "
                  f"{args.dtype} {100 * scores[args.dtype][-1][0]:.2f}")  # fmt: skip
    full, half = (statistics.fmean(jf for jf, _ in scores[k]) * 100 for k in ("float32", args.dtype))
    print(f"mean over {len(sources)} trees: float32 {full:.2f}, {args.dtype} {half:.2f}")
    print(f"change in J&F: {half - full:+.2f}")
    print(f"seconds: float32 {seconds['float32']:.1f}, {args.dtype} {seconds[args.dtype]:.1f} ({native})")


if __name__ == "__main__":
    main()

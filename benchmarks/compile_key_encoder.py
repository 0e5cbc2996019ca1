"""Key encoder of full-size STCN: eager against oneDNN prepacked weights and torch.compile.

The key encoder (ResNet-50 to layer3) is the largest computation of every frame. Each variant is
checked against eager on the same input, then timed in interleaved repeats after one warm-up call
(the first compiled call compiles). docs/performance.md reports its output.

    OMP_NUM_THREADS=1 python benchmarks/compile_key_encoder.py --size 240x432 [--no-freezing]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils import mkldnn

from ttvos.model.checkpoint import load_stcn
from ttvos.model.sizes import FULL
from ttvos.model.standin import standin_state_dict


def variants(encoder: torch.nn.Module, freezing: bool) -> dict[str, Callable]:
    import torch._inductor.config as inductor_config

    inductor_config.freezing = freezing
    packed = mkldnn.to_mkldnn(copy.deepcopy(encoder))  # converts in place: keep eager intact
    return {
        "eager": encoder,
        "mkldnn": lambda image: [f.to_dense() for f in packed(image.to_mkldnn())],
        f"inductor (freezing={freezing})": torch.compile(encoder),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="240x432", help="HEIGHTxWIDTH of the frame")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-freezing", dest="freezing", action="store_false")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    encoder = load_stcn(standin_state_dict(FULL), "cpu").key_encoder
    image = torch.randn(1, 3, height, width)
    with torch.no_grad():
        expected = encoder(image)
        calls = variants(encoder, args.freezing)
        for name, call in calls.items():
            difference = max(float((a - b).abs().max()) for a, b in zip(expected, call(image), strict=True))
            print(f"{name}: max abs difference {difference:.2e}")
        seconds: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(args.repeats):
            for name, call in calls.items():
                started = time.perf_counter()
                call(image)
                seconds[name].append(time.perf_counter() - started)
    eager = statistics.median(seconds["eager"])
    for name, values in seconds.items():
        median = statistics.median(values)
        spread = f"{min(values):.3f}-{max(values):.3f}"
        print(f"{name}: median {median:.3f} s ({spread}), {eager / median:.2f}x eager")


if __name__ == "__main__":
    main()

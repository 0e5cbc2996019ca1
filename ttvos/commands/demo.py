"""``ttvos demo``: the embedded default job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, make_progress, setup_logging, user_errors


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the generated video and its masks.")
    ] = Path("demo-output"),
    frames: Annotated[int, typer.Option("--frames", min=2, help="Number of frames to generate.")] = 12,
    height: Annotated[int, typer.Option("--height", min=16, help="Frame height in pixels.")] = 120,
    width: Annotated[int, typer.Option("--width", min=16, help="Frame width in pixels.")] = 200,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Segment a generated two-object video with stand-in STCN weights (no downloads needed).

    The stand-in weights are deterministic, not trained: the masks show that the whole pipeline
    runs, not how well STCN segments.
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.demo import prepare_demo, run_demo
        from ttvos.device import resolve_device

        torch_device = resolve_device(device)
        prepared = prepare_demo(output, num_frames=frames, height=height, width=width)
        start = time.perf_counter()
        with make_progress(quiet=quiet) as progress:
            task = progress.add_task(f"segmenting on {torch_device}", total=frames)
            for _ in run_demo(prepared, torch_device):
                progress.advance(task)
        seconds = time.perf_counter() - start
    console.print(
        f"Segmented {frames} frames ({height}x{width}) in {seconds:.1f} s; masks in {prepared.masks_dir}",
        highlight=False,
    )

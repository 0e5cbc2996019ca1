"""``ttvos demo``: the embedded default job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, setup_logging, user_errors
from ttvos.commands.evaluate import evaluate_tree
from ttvos.commands.run import draw_sweep, report_sweep


def demo(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for the generated data, configs, results and scores."),
    ] = Path("demo-output"),
    frames: Annotated[int, typer.Option("--frames", min=3, help="Frames per generated video.")] = 8,
    height: Annotated[int, typer.Option("--height", min=16, help="Frame height in pixels.")] = 96,
    width: Annotated[int, typer.Option("--width", min=16, help="Frame width in pixels.")] = 160,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the whole pipeline on generated videos with stand-in weights (no downloads needed).

    Writes two synthetic two-object videos in the DAVIS layout, segments them with the stcn
    baseline and with test-time training (tt-MCC, shrunk to 2 x 2 Adam steps), then evaluates J&F.
    The stand-in weights are deterministic, not trained: the scores show that everything runs,
    not how well STCN segments.
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.demo import prepare_demo
        from ttvos.sweep import prepare_sweep

        request = prepare_demo(output, num_frames=frames, height=height, width=width, device=device)
        sweep = prepare_sweep(request)
        summary = draw_sweep(sweep, quiet=quiet)
        if not report_sweep(sweep, summary, request.output):
            raise typer.Exit(1)
        assert request.data_root is not None
        evaluate_tree(
            request.output,
            request.data_root,
            None,
            workers=1,
            decay="intended",
            allow_partial=False,
            output_format="table",
            plot=None,
            quiet=quiet,
        )
    console.print(f"Masks, logs and scores are in {request.output}; run `ttvos --help` for the real thing.")

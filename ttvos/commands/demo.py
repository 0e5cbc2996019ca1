"""``ttvos demo``: the embedded default job (the paper's experiment in miniature, no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, make_progress, setup_logging, user_errors
from ttvos.commands.evaluate import evaluate_tree
from ttvos.commands.run import draw_sweep, report_sweep


def demo(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder for the generated data, configs, results, scores and images."
        ),
    ] = Path("demo-output"),
    losses: Annotated[
        str, typer.Option(help="Comma-separated TTT losses to compare with the baseline: mcc, ent, ae.")
    ] = "mcc",
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A reduced demo (2 short videos, 1 corruption, 1 short jump step, 1 seed)."
        ),
    ] = False,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Show test-time training at work: the embedded tiny STCN on clean and corrupted generated videos.

    Generates a test set (DAVIS layout, ground truth included) and its DAVIS-C corruptions at the three
    levels, segments it with the embedded model (config tiny) and after tt-MCC (tiny_mcc) for three seeds,
    then prints the J&F table with the gain over the baseline and writes OUTPUT/jf.png (J&F per corruption)
    and OUTPUT/before_after.png (masks over frames). See docs/demo.md for what to expect.
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.demo import before_after_sheet, demo_plan, demo_requests, use_one_thread, write_benchmark
        from ttvos.device import resolve_device
        from ttvos.sweep import prepare_sweep

        plan = demo_plan(losses, quick=quick)
        use_one_thread(resolve_device(device))  # an unusable device stops the demo before anything is written
        with make_progress(quiet=quiet) as progress:
            task = progress.add_task("generating the test videos", total=None)
            for _ in write_benchmark(output / "data", plan):
                progress.advance(task)
        for request in demo_requests(output, plan, device):
            sweep = prepare_sweep(request)
            if not report_sweep(sweep, draw_sweep(sweep, quiet=quiet), request.output):
                raise typer.Exit(1)
        evaluate_tree(
            output / "results",
            output / "data",
            None,
            workers=1,
            decay="intended",
            allow_partial=False,
            output_format="table",
            plot=output / "jf.png",
            quiet=quiet,
        )
        sheet = before_after_sheet(output, plan)
    console.print(f"Masks, logs and scores in {output}; masks over frames: {sheet}", highlight=False)

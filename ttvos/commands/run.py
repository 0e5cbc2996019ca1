"""``ttvos run``: adapt (optionally) and segment every video of a dataset, resumably."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, err_console, make_progress, setup_logging, user_errors

_INPUT = "Input"
_OUTPUT = "Output and resuming"
_MODEL = "Model and compute"


def run(
    config: Annotated[
        list[str],
        typer.Option(
            "--config", "-c", help="Config name or YAML path (repeatable); `ttvos config list` shows them."
        ),
    ] = ["stcn_mcc"],  # noqa: B006 - Typer needs a list default for a repeatable option
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            "-d",
            help="davis, davis-testdev, davis-c, youtube, mose, or folder (your own videos). "
            "Default: folder when --frames is given, else davis.",
            rich_help_panel=_INPUT,
            show_default=False,
        ),
    ] = None,
    corruption: Annotated[
        list[str] | None,
        typer.Option(
            help="DAVIS-C corruption as NAME/LEVEL (levels low, med, high); also all, NAME/all, "
            "all/LEVEL. Repeatable.",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    seed: Annotated[list[int], typer.Option(help="Random seed (repeatable: one run per seed).")] = [1],  # noqa: B006
    videos: Annotated[
        list[str] | None,
        typer.Option(help="Only these videos (comma-separated or repeated names).", rich_help_panel=_INPUT),
    ] = None,
    data_root: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding DAVIS/, DAVIS-C/, YouTube2018/, MOSE/ (default: $TTVOS_DATA or "
            "~/.local/share/ttvos/datasets; see docs/datasets.md).",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option(
            help="Your own videos (implies --dataset folder): a folder of frames, a video file, or a "
            "folder of such videos.",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            help="With --frames: the first frame's mask (palette PNG, or binary for one object), "
            "or a folder with <video>.png / <video>/<first frame>.png.",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    replay_draws: Annotated[
        Path | None,
        typer.Option(
            "--replay-draws",
            help="Train on recorded sequences instead of drawing them: a run folder (or one of its "
            "logs/<video>.json) replays that run exactly with the same config and seed; or a JSON "
            "mapping each video to the frame lists of its sequences in training order (docs/ttt.md).",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Override the config's weights: stcn, stcn_s01, stcn_s0 (STCN configs), xmem, xmem_s012, "
            "xmem_s2 (XMem configs), standin (untrained, of the config's model, for trials) or a .pth path.",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    resolution: Annotated[
        str | None,
        typer.Option(
            help="Shorter side the network runs and trains at (the paper: 480), or 'native' for the input "
            "size; masks are always written at the original frame size. Default: the config's.",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    amp: Annotated[
        bool | None,
        typer.Option(
            "--amp/--no-amp", help="Mixed precision on CUDA (default: the config's).", rich_help_panel=_MODEL
        ),
    ] = None,
    device: DeviceOption = "auto",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Results root folder.", rich_help_panel=_OUTPUT)
    ] = Path("results"),
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Redo videos that are already finished.", rich_help_panel=_OUTPUT),
    ] = False,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going",
            help="Continue with the other videos after a failure (listed at the end).",
            rich_help_panel=_OUTPUT,
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            help="Process only shard I/N of the videos (0 <= I < N). Default: from torchrun "
            "(RANK/WORLD_SIZE) or a SLURM array, else everything.",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Segment every video of a dataset with STCN or XMem, adapting it to each video first (TTT).

    Masks go to OUTPUT/<dataset>/<config>/seed<N>/<video>/<frame>.png (DAVIS-C:
    OUTPUT/davis-c/<corruption>/<level>/<config>/...), the official results layout, with
    logs/<video>.json and run.yaml beside them. Finished videos are skipped when the command is run
    again; interrupted ones are redone.

    Example: ttvos run --config stcn_mcc --dataset davis-c --corruption brightness/med --seed 5
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.sweep import SweepRequest, prepare_sweep

        request = SweepRequest(
            configs=config,
            dataset=dataset,
            output=output,
            corruptions=corruption or [],
            seeds=seed,
            videos=videos or [],
            data_root=data_root,
            frames=frames,
            mask=mask,
            weights=weights,
            resolution=resolution,
            amp=amp,
            device=device,
            overwrite=overwrite,
            keep_going=keep_going,
            shard=shard,
            replay_draws=replay_draws,
            command=shlex.join(["ttvos", *sys.argv[1:]]),
        )
        sweep = prepare_sweep(request)
        summary = draw_sweep(sweep, quiet=quiet)
    if not report_sweep(sweep, summary, output):
        raise typer.Exit(1)


def report_sweep(sweep, summary, output: Path) -> bool:
    """Print the summary line and the failures; True when nothing failed."""
    seconds = time.perf_counter() - sweep.started
    console.print(
        f"{summary.done} videos done, {summary.skipped} skipped, {len(summary.failed)} failed "
        f"in {seconds:.1f} s (shard {sweep.shard}, {sweep.device}); results in {output}",
        highlight=False,
    )
    for item, message in summary.failed:
        err_console.print(
            f"[red]failed[/] {item.target.directory(output)}/{item.video}: {message}", highlight=False
        )
    return not summary.failed


STEP_LINES = 10  # without a terminal: one line per this many TTT steps (and the last one)


def draw_sweep(sweep, *, quiet: bool):
    """Run the videos, drawing one bar for the sweep and one for the current video; without a
    terminal (a SLURM log), one line per video and per STEP_LINES TTT steps instead."""
    from ttvos.runner import FrameWritten, RunSummary, StepDone, VideoFinished, VideoStarted

    summary = RunSummary()
    lines = not quiet and not err_console.is_terminal
    steps, started, ttt_steps = 0, time.perf_counter(), 0
    with make_progress(quiet=quiet or lines) as progress:
        overall = progress.add_task("videos", total=len(sweep.items))
        current = progress.add_task("", total=None, visible=False)
        for event in sweep.runner.run(sweep.items):
            where = f"{event.item.target.directory(Path())}/{event.item.video}"
            if isinstance(event, VideoStarted):
                total = event.ttt_steps + event.outputs
                progress.update(current, description=where, total=total, completed=0, visible=True)
                steps, started, ttt_steps = 0, time.perf_counter(), event.ttt_steps
                if lines:
                    _line(
                        f"started {where}: {event.frames} frames, {ttt_steps} TTT steps, {event.outputs} PNGs"
                    )
            elif isinstance(event, StepDone):
                progress.advance(current)
                steps += 1
                if lines and (steps % STEP_LINES == 0 or steps == ttt_steps):
                    seconds = time.perf_counter() - started
                    _line(
                        f"{where}: TTT step {steps}/{ttt_steps}, loss {event.step.loss:.4f} ({seconds:.1f} s)"
                    )
            elif isinstance(event, FrameWritten):
                progress.advance(current)
            elif isinstance(event, VideoFinished):
                summary.add(event)
                progress.advance(overall)
                progress.update(current, visible=False)
                if lines:
                    _line(
                        f"{event.status} {where} ({event.seconds:.1f} s)"
                        + (f": {event.error}" if event.error else "")
                    )
                elif event.status == "done" and not quiet:
                    progress.console.print(f"[green]done[/] {where} ({event.seconds:.1f} s)", highlight=False)
    return summary


def _line(text: str) -> None:
    """A log line for files: wall-clock time first, never wrapped."""
    err_console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False, markup=False, soft_wrap=True)

"""``ttvos corrupt``: make DAVIS-C (or corrupt any frame folders) as the paper's generator did."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import QuietOption, VerboseOption
from ttvos.commands._ui import console, err_console, make_progress, setup_logging, user_errors

_WHAT = "What to make"
_OUTPUT = "Output"


def corrupt(
    source: Annotated[
        Path,
        typer.Option(
            help="A data root holding DAVIS/2017/trainval (its val videos are corrupted, as for DAVIS-C), a "
            "DAVIS trainval folder, a folder of frame folders, or one frame folder (e.g. `ttvos demo`'s "
            "demo-output/data).",
            rich_help_panel=_WHAT,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Data root to write DAVIS-C/<level>/<corruption>/<video>/ into; DAVIS/2017/trainval is "
            "linked there so `ttvos run --dataset davis-c --data-root OUTPUT` works as is. Default: "
            "--source, when it is a data root.",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    corruption: Annotated[
        list[str],
        typer.Option(
            help="Corruption types, comma-separated or repeated, or all: gaussian_noise, contrast, "
            "brightness, saturate, glass_blur, defocus_blur, pixelate, cartoon, motion_blur, crf_compression "
            "(style1-4 cannot be made here: `ttvos prepare-data davis-c`).",
            rich_help_panel=_WHAT,
        ),
    ] = ["all"],  # noqa: B006 - Typer needs a list default for a repeatable option
    level: Annotated[
        list[str],
        typer.Option(
            help="low, med, high (ImageNet-C severities 3, 4, 5), comma-separated or repeated, or all.",
            rich_help_panel=_WHAT,
        ),
    ] = ["all"],  # noqa: B006
    videos: Annotated[
        list[str] | None,
        typer.Option(help="Only these videos (comma-separated or repeated names).", rich_help_panel=_WHAT),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            min=0,
            help="Seed of gaussian_noise and glass_blur; each video's stream derives from it and the video's "
            "name, corruption and level (the reference never seeded).",
            rich_help_panel=_WHAT,
        ),
    ] = 0,
    faithful: Annotated[
        bool,
        typer.Option(
            "--faithful/--no-faithful",
            help="Reproduce DAVIS-C's quirks: frames read as BGR and processed as RGB, glass blur copying "
            "instead of swapping pixels. --no-faithful fixes both (docs/corruptions.md).",
            rich_help_panel=_WHAT,
        ),
    ] = True,
    image_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="jpg (DAVIS-C's files: JPEG quality 95, crf_compression's own MJPEG) or png (lossless).",
            rich_help_panel=_OUTPUT,
        ),
    ] = "jpg",
    workers: Annotated[
        int, typer.Option(min=1, help="Processes working in parallel.", rich_help_panel=_OUTPUT)
    ] = 1,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Corrupt videos as DAVIS-C was made: 10 corruption types x 3 levels, resumably.

    Each video of each corruption and level is written whole or not at all; run the command again
    to finish an interrupted run (finished videos are skipped). The style-transfer types cannot be
    reproduced offline and are reported, not faked.

    Example: ttvos corrupt --source ~/data --corruption brightness,glass_blur --level med
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.corruptions.tree import CorruptRequest, Settings, prepare_corruption, run_plan

        if image_format not in ("jpg", "png"):
            raise typer.BadParameter(f"{image_format!r}: use jpg or png", param_hint="--format")
        request = CorruptRequest(
            source=source,
            output=output,
            corruptions=tuple(corruption),
            levels=tuple(level),
            videos=tuple(videos or ()),
            settings=Settings(seed=seed, faithful=faithful, image_format=image_format),  # type: ignore[arg-type]
        )
        started = time.perf_counter()
        plan = prepare_corruption(request)
        for name, reason in plan.unavailable.items():
            err_console.print(f"[yellow]unavailable[/] {name}: {reason}", highlight=False, soft_wrap=True)
        with make_progress(quiet=quiet) as progress:
            bar = progress.add_task("videos", total=len(plan.tasks))
            for event in run_plan(plan, workers=workers):
                progress.advance(bar)
                if verbose:
                    where = f"{event.task.level}/{event.task.corruption}/{event.task.video.name}"
                    progress.console.print(
                        f"[green]done[/] {where} ({event.seconds:.1f} s)",
                        highlight=False,
                    )
    console.print(
        f"{len(plan.tasks)} videos corrupted, {len(plan.finished)} skipped (already done), "
        f"{len(plan.unavailable)} types unavailable, in {time.perf_counter() - started:.1f} s; "
        f"frames in {plan.output / 'DAVIS-C'}",
        highlight=False,
    )
    if plan.annotations:
        console.print(plan.annotations, highlight=False)

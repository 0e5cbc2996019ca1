"""``ttvos evaluate``: J&F of a results tree, tables over seeds, plots, and server submissions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ttvos.commands._options import QuietOption, VerboseOption
from ttvos.commands._ui import console, err_console, make_progress, setup_logging, user_errors

_FORMATS = ("table", "csv", "json", "markdown")


def evaluate(
    results: Annotated[
        Path,
        typer.Argument(
            help="Results tree written by `ttvos run` (or one run folder, or a plain results folder)."
        ),
    ],
    data_root: Annotated[
        Path | None,
        typer.Option(
            help="Where DAVIS/2017/trainval lies (default: $TTVOS_DATA or ~/.local/share/ttvos/datasets)."
        ),
    ] = None,
    gt: Annotated[
        Path | None,
        typer.Option(
            help="A DAVIS-layout ground truth to use for every run (and for plain results folders)."
        ),
    ] = None,
    gt_set: Annotated[
        str, typer.Option("--set", help="Split file of the ground truth (ImageSets/2017/<set>.txt).")
    ] = "val",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes evaluating sequences in parallel (default: the CPUs this process may use, "
            "after affinity and container limits).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format", help="table, csv, json or markdown (tables: percent, mean ± std over seeds)."
        ),
    ] = "table",
    plot: Annotated[
        Path | None, typer.Option(help="Also draw J&F per corruption level and type into this PNG.")
    ] = None,
    pack: Annotated[
        bool,
        typer.Option(
            "--pack", help="Instead of evaluating, zip RESULTS (one run folder) for its benchmark's server."
        ),
    ] = False,
    official_decay: Annotated[
        bool,
        typer.Option(
            "--official-decay",
            help="J/F-Decay with the official code's uint8 bin edges (differs for > 256 evaluated frames).",
        ),
    ] = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Also evaluate runs that lack some videos (marked partial; no official CSVs); with "
            "--pack, zip the finished videos of an incomplete run.",
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Compute J&F exactly as the official DAVIS 2017 evaluation and summarise a sweep.

    Writes global_results-<set>.csv and per-sequence_results-<set>.csv (official format) into every
    evaluated run folder, caches per-frame scores (unchanged runs are not evaluated again), and
    prints one row per dataset / corruption / level / config with mean ± std over seeds and the
    gain over the baseline config (loss none, same weights).
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        if output_format not in _FORMATS:
            raise typer.BadParameter(f"use one of {', '.join(_FORMATS)}", param_hint="--format")
        if pack:
            _pack(results, allow_partial=allow_partial)
            return
        from ttvos.data.datasets import default_data_root
        from ttvos.device import available_cpus
        from ttvos.metrics.sequences import GroundTruth

        truth = GroundTruth(gt, gt_set) if gt is not None else None
        decay = "official" if official_decay else "intended"
        failed = evaluate_tree(
            results,
            data_root or default_data_root(),
            truth,
            workers=workers or available_cpus(),
            decay=decay,
            allow_partial=allow_partial,
            output_format=output_format,
            plot=plot,
            quiet=quiet,
        )
    if failed:
        raise typer.Exit(1)


def evaluate_tree(
    results: Path,
    data_root: Path,
    truth,
    *,
    workers: int,
    decay: str,
    allow_partial: bool,
    output_format: str,
    plot: Path | None,
    quiet: bool,
) -> bool:
    """Evaluate, render the tables (and the plot); True when a run failed on bad files or when
    nothing could be evaluated."""
    from ttvos.metrics import report
    from ttvos.metrics.tree import TreeEvaluation, plan_evaluation

    planned, skipped = plan_evaluation(results, data_root, truth)
    evaluation = TreeEvaluation(planned, workers=workers, decay=decay, allow_partial=allow_partial)
    with make_progress(quiet=quiet) as progress:
        task = progress.add_task(f"evaluating {len(planned)} runs", total=evaluation.total)
        for _ in evaluation.run():
            progress.advance(task)
    rows = report.build_rows(evaluation.outcomes)
    levels = report.davis_c_levels(evaluation.outcomes)
    _render(rows, levels, output_format)
    if plot is not None:
        from ttvos.metrics.plot import plot_results

        err_console.print(f"plot written to {plot_results(rows, levels, plot)}", highlight=False)
    failed = _explain(evaluation.outcomes, skipped)
    if not any(outcome.summary is not None for outcome in evaluation.outcomes):
        err_console.print(
            f"[bold red]error:[/] nothing in {results} could be evaluated (reasons above)", highlight=False
        )
        return True
    return failed


def _render(rows, levels, output_format: str) -> None:
    from ttvos.metrics import report

    if output_format == "csv":
        typer.echo(report.to_csv(rows), nl=False)
    elif output_format == "json":
        typer.echo(report.to_json(rows, levels))
    elif output_format == "markdown":
        typer.echo(report.to_markdown(rows, levels), nl=False)
    else:
        table = Table(
            "dataset", "corruption", "level", "config", "seeds", "J&F", "J", "F", "Δ J&F", title="J&F (%)"
        )
        for row in rows:
            config = row.config + (" [yellow](partial)[/]" if row.partial else "")
            config += f" [bold red]({report.STANDIN_MARK})[/]" if row.standin else ""
            table.add_row(
                row.dataset,
                row.corruption or "",
                row.level or "",
                config,
                str(row.jf.n),
                report.percent(row.jf),
                report.percent(row.j),
                report.percent(row.f),
                report.signed(row.delta),
            )
        console.print(table)
        if levels:
            summary = Table("config", *report.LEVEL_COLUMNS, title="DAVIS-C: J&F (%) per corruption level")
            for entry in levels:
                summary.add_row(
                    entry.config, *(report.percent(entry.levels[lv]) for lv in report.LEVEL_COLUMNS)
                )
            console.print(summary)


def _explain(outcomes, skipped) -> bool:
    """Say which runs were not evaluated and why; True when a run failed on bad files (or an
    unreadable run.yaml)."""
    failed = any(skip.failed for skip in skipped)
    standin = [o.run.directory for o in outcomes if o.run.standin and o.summary is not None]
    if standin:
        err_console.print(
            f"[bold red]stand-in weights:[/] {len(standin)} runs (e.g. {standin[0]}) were made with "
            "untrained weights: their numbers show that the pipeline runs, not how well it segments",
            highlight=False,
        )
    for skip in skipped:
        err_console.print(f"[yellow]skipped[/] {skip.directory}: {skip.reason}", highlight=False)
    for outcome in outcomes:
        where = outcome.run.directory
        if outcome.error is not None:
            failed = True
            err_console.print(f"[red]failed[/] {where}: {outcome.error}", highlight=False)
        elif outcome.summary is None and outcome.missing:
            stale = (
                f" ({len(outcome.stale)} made with other settings than run.yaml's)" if outcome.stale else ""
            )
            err_console.print(
                f"[yellow]incomplete[/] {where}: {len(outcome.missing)} videos missing{stale} "
                f"(e.g. {outcome.missing[0]}); finish the run or use --allow-partial",
                highlight=False,
            )
    return failed


def _pack(run_dir: Path, *, allow_partial: bool) -> None:
    from ttvos.data.submission import SERVERS, pack_run
    from ttvos.errors import UserError
    from ttvos.records import RUN_FILE, read_run_record

    if not (run_dir / RUN_FILE).is_file():
        raise UserError(
            f"{run_dir}: not a run folder (no {RUN_FILE}); give one <config>/seed<N> folder to --pack"
        )
    record = read_run_record(run_dir / RUN_FILE)
    archive, count = pack_run(run_dir, record, allow_partial=allow_partial)
    partial = (
        f" [yellow]partial: {count} of {len(record.videos)} videos[/]" if count < len(record.videos) else ""
    )
    console.print(
        f"{archive} ({count} videos){partial}; upload it to {SERVERS[record.dataset].where}", highlight=False
    )

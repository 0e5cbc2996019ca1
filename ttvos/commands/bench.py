"""``ttvos bench``: speed and memory of inference and test-time training, variants side by side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, make_progress, setup_logging, user_errors

if TYPE_CHECKING:
    from ttvos.bench_report import BenchReport

_INPUT = "Input and model"
_WHAT = "What to measure"
_HOW = "Repeats and output"


def bench(
    family: Annotated[
        str,
        typer.Option(
            help="Network family, as a config's model key: stcn (the stcn_<loss> / tiny_<loss> configs) "
            "or xmem (xmem_<loss> / tiny_xmem_<loss>).",
            rich_help_panel=_INPUT,
        ),
    ] = "stcn",
    model: Annotated[
        str,
        typer.Option(
            help="Network size: full (the official networks') or tiny (the embedded model's).",
            rich_help_panel=_INPUT,
        ),
    ] = "full",
    weights: Annotated[
        str | None,
        typer.Option(
            help="A checkpoint of the --family (or registered name, e.g. tiny) instead of the "
            "deterministic stand-in weights; its size wins over --model.",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    size: Annotated[
        str,
        typer.Option(
            help="HEIGHTxWIDTH of the synthetic frames; the network runs at it.", rich_help_panel=_INPUT
        ),
    ] = "240x432",
    frames: Annotated[int, typer.Option(help="Frames of the synthetic video.", rich_help_panel=_INPUT)] = 20,
    objects: Annotated[int, typer.Option(help="Objects in it.", rich_help_panel=_INPUT)] = 2,
    measure: Annotated[
        str,
        typer.Option(
            help="Comma-separated: inference (whole video with its PNGs, frames/s), iteration (one TTT "
            "Adam step per loss), video (per-video TTT with each variant's schedule, then the "
            "segmentation), memory (peak memory of an inference for each --lengths).",
            rich_help_panel=_WHAT,
        ),
    ] = "inference,iteration,video",
    losses: Annotated[
        str, typer.Option(help="TTT losses: mcc, ae, ent.", rich_help_panel=_WHAT)
    ] = "mcc,ae,ent",
    variants: Annotated[
        str,
        typer.Option(
            help="Compared side by side; faithful's ratios are against --baseline, the others' against "
            "faithful (else against the first): faithful (the family's bundled "
            "configs), fast (their *_fast configs: STCN's), bf16 / fp16 (amp), cap "
            "(inference.max_memory_frames = --cap: STCN only), no-long-term "
            "(inference.enable_long_term = false: XMem only).",
            rich_help_panel=_WHAT,
        ),
    ] = "faithful,fast",
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="Another ttvos source tree (e.g. a git worktree of an earlier commit): adds a first "
            "variant 'baseline' running the faithful settings with that tree's engine.",
            rich_help_panel=_WHAT,
        ),
    ] = None,
    video_steps: Annotated[
        str | None,
        typer.Option(
            help="ROUNDSxSTEPS instead of the paper's schedule (10x10 for mcc/ent) in the video "
            "measurement of the non-fast variants, e.g. 2x2.",
            rich_help_panel=_WHAT,
        ),
    ] = None,
    cap: Annotated[
        int, typer.Option(min=1, help="Memory frames kept by the cap variant.", rich_help_panel=_WHAT)
    ] = 8,
    lengths: Annotated[
        str, typer.Option(help="Video lengths of the memory measurement.", rich_help_panel=_WHAT)
    ] = "50,200,800",
    repeats: Annotated[
        int, typer.Option(min=1, help="Measured repeats (median, min, max).", rich_help_panel=_HOW)
    ] = 3,
    warmup: Annotated[
        int, typer.Option(min=0, help="Discarded repeats before them.", rich_help_panel=_HOW)
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="torch threads per worker (default: torch's).", rich_help_panel=_HOW),
    ] = None,
    seed: Annotated[int, typer.Option(help="TTT seed.", rich_help_panel=_HOW)] = 1,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write every sample and statistic to this file.", rich_help_panel=_HOW),
    ] = None,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile",
            help="Also print torch.profiler tables (self time per operator) of one inference and one "
            "step of the first loss, first variant.",
            rich_help_panel=_HOW,
        ),
    ] = False,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Measure inference and test-time training on a synthetic video: time, frames/s, peak memory.

    Each variant runs in its own process; repeats alternate the variants so that a machine's drift
    slows them alike. Peak memory: resident set size on a CPU, max allocated on CUDA.

    Example: ttvos bench --model tiny --size 128x192 --frames 16 --variants faithful,fast --losses mcc,ent

    XMem, long-term memory on and off: ttvos bench --family xmem --measure memory --variants
    faithful,no-long-term
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.bench import Bench, BenchDone, build_spec

        spec = build_spec(
            family=family,
            model=model,
            weights=weights,
            size=size,
            frames=frames,
            objects=objects,
            measure=measure,
            losses=losses,
            variants=variants,
            baseline=baseline,
            video_steps=video_steps,
            cap=cap,
            lengths=lengths,
            repeats=repeats,
            warmup=warmup,
            threads=threads,
            seed=seed,
            device=device,
        )
        runner = Bench(spec, profile_rows=25 if profile else 0)
        with make_progress(quiet=quiet) as progress:
            task = progress.add_task("bench", total=None)
            for event in runner.run():
                if isinstance(event, BenchDone):
                    report = event.report
                else:
                    progress.update(task, completed=event.done, total=event.total, description=event.label)
        _print_report(report)
        if json_path is not None:
            report.write_json(json_path)
            console.print(f"every sample: {json_path}", highlight=False)


def _print_report(report: BenchReport) -> None:
    """The statistics table (ratios against each variant's reference), notes, memory growth, profiles."""
    env = report.environment
    gpu = f", {env['gpu']}" if "gpu" in env else ""
    spec = report.spec
    weights = spec["weights"] or "stand-in weights"
    _say(
        f"{env['cpu']} ({env['cpus']} CPUs, {env['cpu_capability']}){gpu}; torch {env['torch']}; "
        f"{spec['family']} {spec['model']} ({weights}); ratios: {report.ratios_legend()}"
    )
    header = (
        "measurement",
        "case",
        "variant",
        "median s",
        "min-max s",
        "speed-up",
        "frames/s",
        "TTT s (speed-up)",
        "peak MB",
        "memory",
    )
    rows = report.rows()
    lines = [header]
    for row in rows:
        frames_per_s = row.get("frames_per_s")
        lines.append(
            (
                row["measurement"],
                row["case"],
                row["variant"],
                f"{row['median_s']:.3f}",
                f"{row['min_s']:.3f}-{row['max_s']:.3f}",
                "" if row["speedup"] is None else f"{row['speedup']:.2f}x",
                "" if frames_per_s is None else f"{frames_per_s:.2f}",
                f"{row['ttt_seconds']:.3f} ({row['ttt_speedup']:.2f}x)" if "ttt_speedup" in row else "",
                f"{row['peak_mb']:.0f}",
                "" if row["memory_ratio"] is None else f"{row['memory_ratio']:.2f}x",
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for number, line in enumerate(lines):
        _say("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            _say("  ".join("-" * width for width in widths))
    for variant in report.spec["variants"]:
        precisions = sorted(
            {row["precision"] for row in rows if row["variant"] == variant and "precision" in row}
        )
        if variant in ("bf16", "fp16") and precisions == ["float32"]:
            _say(f"{variant} ran in float32: the device has no native half dtype, so amp fell back")
    for variant, growth in report.memory_growth().items():
        _say(f"memory growth, shortest to longest video, {variant}: {100 * growth:+.1f}%")
    for name, text in report.profile.items():
        _say(f"\nprofile: {name}\n{text}")


def _say(text: str) -> None:
    """One line as is: no wrapping (tables stay readable in logs), no markup or highlighting."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)

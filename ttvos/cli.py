"""The ``ttvos`` command line: the root app and the wiring of its commands (nothing else)."""

from __future__ import annotations

from typing import Annotated

import typer

from ttvos import __version__
from ttvos.commands import bench, config, corrupt, demo, download_models, evaluate, prepare_data, run, train

app = typer.Typer(
    name="ttvos",
    help="Test-time training for matching-based video object segmentation (STCN with tt-MCC, tt-AE, tt-Ent).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run")(run.run)
app.command("evaluate")(evaluate.evaluate)
app.command("corrupt")(corrupt.corrupt)
app.command("download-models")(download_models.download_models)
app.command("prepare-data")(prepare_data.prepare_data)
app.command("demo")(demo.demo)
app.command("train")(train.train)
app.command("bench")(bench.bench)
app.add_typer(config.app, name="config")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ttvos {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Segment videos with STCN, adapted to each video at test time (Bertrand et al., NeurIPS 2023)."""


def main() -> None:
    app()

"""``ttvos download-models``: fetch the released STCN and XMem checkpoints into the weights cache."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ttvos.commands._options import QuietOption, VerboseOption
from ttvos.commands._ui import console, err_console, setup_logging, user_errors

if TYPE_CHECKING:
    from ttvos.download.transfer import Network

MirrorOption = Annotated[
    str | None,
    typer.Option(
        "--mirror",
        metavar="BASE_URL",
        envvar=["TTVOS_MIRROR", "TTVOS_MODEL_MIRROR"],
        help="Fetch every file as BASE_URL/<file name> instead of from its registered sources "
        "(docs/downloads.md lists the names).",
        show_envvar=True,
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="TTVOS_OFFLINE",
        help="Never touch the network: use and check only what is already on disk or given by hand.",
        show_envvar=True,
    ),
]
ListOption = Annotated[
    bool, typer.Option("--list", help="Show what exists, its sources and what is on disk, then exit.")
]


def network_options(mirror: str | None, offline: bool) -> Network:
    from ttvos.download.transfer import Network

    return Network(mirror=mirror or None, offline=offline)


def draw_transfers(events: Iterable[object], *, quiet: bool) -> list[object]:
    """Draw one byte bar per task of the core's Progress events; returns the other events, in order."""
    from ttvos.download.transfer import Progress as Step

    others = []
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, disable=quiet) as progress:
        tasks: dict[str, int] = {}
        for event in events:
            if not isinstance(event, Step):
                others.append(event)
                continue
            if event.task not in tasks:
                tasks[event.task] = progress.add_task(event.task, total=event.total)
            progress.update(tasks[event.task], completed=event.done, total=event.total)
    return others


def size_text(size: int | None) -> str:
    from ttvos.download.store import human_size

    return "" if size is None else human_size(size)


def download_models(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Models to fetch (default: stcn, stcn_s01, stcn_s0; also stcn_s03, xmem, xmem_s012, "
            "xmem_s2). `--list` shows them all."
        ),
    ] = None,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where checkpoints are kept (default: $TTVOS_WEIGHTS or ~/.cache/ttvos/weights)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even if the file is already there.")
    ] = False,
    mirror: MirrorOption = None,
    offline: OfflineOption = False,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            metavar="PATH",
            help="Register a checkpoint you fetched by hand as the one model named (checked, then copied).",
        ),
    ] = None,
    list_models: ListOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Download the official STCN and XMem checkpoints: resumable, retried, checked before use.

    Each model has sources in priority order (GitHub release, Google Drive, OneDrive); the next is
    tried when one fails. With no published checksum, a download must load into its network (STCN
    or XMem), and its SHA-256 is pinned beside it (<file>.sha256) and checked on every later use.
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.errors import UserError
        from ttvos.weights import adopt_model, fetch_model, get_model, weights_dir

        target = folder or weights_dir()
        if list_models:
            _print_models(target)
            return
        from ttvos.download.registry import load_registry

        wanted = names or [m.name for m in load_registry().models.values() if m.default]
        for name in wanted:
            get_model(name)
        if from_file is not None:
            if len(wanted) != 1:
                raise UserError("--from-file registers one file: name exactly one model")
            draw_transfers(adopt_model(wanted[0], from_file, target), quiet=quiet)
        else:
            network = network_options(mirror, offline)
            for name in wanted:
                draw_transfers(fetch_model(name, target, network, force=force), quiet=quiet)
    console.print(f"{len(wanted)} checkpoint(s) ready in {target}", highlight=False)


_STATES = {
    "embedded": "embedded",
    "missing": "[red]missing: reinstall[/]",
    "pinned": "[green]downloaded[/] (sha256 pinned)",
    "unpinned": "downloaded ([yellow]unchecked[/])",
    "partial": "partial (resumes)",
    "absent": "not downloaded",
}


def _print_models(folder: Path) -> None:
    from ttvos.weights import model_status

    table = Table(title=f"Models (cache: {folder})", title_justify="left")
    for column in ("name", "file", "state", "size", "sources"):
        table.add_column(column)
    for row in model_status(folder):
        sources = "package" if row.model.embedded else ", ".join(s.label for s in row.model.file.sources)
        name = row.model.name + (" (default)" if row.model.default else "")
        table.add_row(name, row.path.name, _STATES[row.state], size_text(row.size), sources)
    console.print(table)

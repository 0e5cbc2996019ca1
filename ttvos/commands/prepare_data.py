"""``ttvos prepare-data``: download, unpack safely, normalise and check a benchmark under the data root."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ttvos.commands._options import QuietOption, VerboseOption
from ttvos.commands._ui import console, setup_logging, user_errors
from ttvos.commands.download_models import (
    ListOption,
    MirrorOption,
    OfflineOption,
    draw_transfers,
    network_options,
    size_text,
)


def prepare_data(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="davis, davis-testdev, davis-c (with DAVIS val), youtube (valid + all frames), mose, or all."
        ),
    ] = None,
    data_root: Annotated[
        Path | None,
        typer.Option(
            help="Folder that `ttvos run` reads (default: $TTVOS_DATA or ~/.local/share/ttvos/datasets)."
        ),
    ] = None,
    from_archive: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-archive",
            metavar="PATH",
            help="Use an archive you fetched by hand instead of downloading it (repeatable; any file name).",
        ),
    ] = None,
    mirror: MirrorOption = None,
    offline: OfflineOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Unpack again and replace trees that are already in place.")
    ] = False,
    keep_archives: Annotated[
        bool,
        typer.Option(
            "--keep-archives", help="Keep downloaded archives in DATA_ROOT/.downloads after unpacking."
        ),
    ] = False,
    list_datasets: ListOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Make a benchmark ready for `ttvos run`: download, unpack, normalise, check (docs/datasets.md).

    Archives are unpacked into a temporary folder, checked (video, frame and mask counts) and only
    then renamed into place, so an interrupted run never leaves a tree that looks complete. Running
    the command again checks what is there and does nothing more.
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.data.datasets import default_data_root
        from ttvos.download.prepare import Prepared, prepare
        from ttvos.errors import UserError

        root = data_root or default_data_root()
        if list_datasets:
            _print_status(root)
            return
        if dataset is None:
            raise UserError(
                "name a dataset (davis, davis-testdev, davis-c, youtube, mose, all) or use --list"
            )
        if from_archive and dataset == "all":
            raise UserError("--from-archive needs one dataset, not all")
        events = prepare(
            [dataset],
            root,
            network_options(mirror, offline),
            from_archives=from_archive,
            force=force,
            keep_archives=keep_archives,
        )
        done = [event for event in draw_transfers(events, quiet=quiet) if isinstance(event, Prepared)]
    table = Table(title=f"{dataset} in {root}", title_justify="left")
    for column in ("archive", "folder", "videos", "frames", "masks", "status"):
        table.add_column(column, justify="right" if column in ("videos", "frames", "masks") else "left")
    for row in done:
        status = "[green]installed[/]" if row.installed else "already there"
        folder = row.target.relative_to(root).as_posix()
        table.add_row(
            row.archive, folder, str(row.counts.videos), str(row.counts.frames), str(row.counts.masks), status
        )
    console.print(table)


def _print_status(root: Path) -> None:
    from ttvos.download.prepare import tree_status

    table = Table(title=f"Datasets (data root: {root})", title_justify="left")
    for column in ("dataset", "archive", "folder", "state", "download", "sources"):
        table.add_column(column)
    for dataset, rows in tree_status(root).items():
        for row in rows:
            if row.record is not None:
                state = f"[green]prepared[/] ({row.record.videos} videos, {row.record.frames} frames)"
            else:
                state = "present, not prepared by ttvos" if row.present else "absent"
            sources = ", ".join(s.label for s in row.archive.file.sources)
            folder = row.target.relative_to(root).as_posix()
            table.add_row(
                dataset, row.archive.file.filename, folder, state, size_text(row.downloaded), sources
            )
    console.print(table)

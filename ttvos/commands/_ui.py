"""Console output for commands: logging set-up, progress bars and one-line errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()
err_console = Console(stderr=True)


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Route ``logging`` records to the terminal: ttvos's own loggers at INFO (DEBUG with --verbose,
    WARNING when quiet); other libraries only from WARNING (PIL's debug chunk dumps are noise)."""
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.getLogger("ttvos").setLevel(level)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the core's :class:`UserError`, and the disk's errors (full, read-only, a file where a
    folder belongs), into ``error: <one line>`` and exit status 1."""
    from ttvos.errors import UserError, describe_os_error

    try:
        yield
    except UserError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as error:
        err_console.print(f"[bold red]error:[/] {describe_os_error(error)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def make_progress(*, quiet: bool) -> Progress:
    """A progress display with counts and ETA; disabled entirely when ``quiet``."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )

"""``ttvos download-models``: fetch the released STCN checkpoints into the weights cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import QuietOption
from ttvos.commands._ui import console, make_progress, user_errors


def download_models(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Models to fetch: stcn, stcn_s01, stcn_s0 (default: all three)."),
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
    quiet: QuietOption = False,
) -> None:
    """Download the official STCN checkpoints (resumable; checked against SHA-256 before use).

    Set TTVOS_MODEL_MIRROR to a URL that serves the same file names to download from a mirror.
    """
    with user_errors():
        from ttvos.errors import UserError
        from ttvos.weights import MODELS, download, weights_dir

        wanted = names or list(MODELS)
        unknown = [n for n in wanted if n not in MODELS]
        if unknown:
            raise UserError(f"unknown model {unknown[0]!r}; registered: {', '.join(MODELS)}")
        target = folder or weights_dir()
        with make_progress(quiet=quiet) as progress:
            for name in wanted:
                task = progress.add_task(f"{name}", total=None)
                for step in download(MODELS[name], target, force=force):
                    progress.update(task, completed=step.done, total=step.total)
                progress.update(task, completed=1, total=1)
    console.print(f"{len(wanted)} checkpoint(s) ready in {target}", highlight=False)

"""Options shared by several commands, defined once."""

from __future__ import annotations

from typing import Annotated

import typer

DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        help="Compute device: auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps.",
        show_default=True,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Show no progress bars; print only errors and the final summary."),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Also print debug logging.")]

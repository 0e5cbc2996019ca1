"""``ttvos train``: STCN's or XMem's offline training recipe, resumable, on synthetic or real data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttvos.commands._options import DeviceOption, QuietOption, VerboseOption
from ttvos.commands._ui import console, make_progress, setup_logging, user_errors

_DATA = "Data"
_SCHEDULE = "Schedule (overrides of the preset)"


def train(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Run folder: train.yaml, state.pt (resumable), log.jsonl, model.pth (for --weights).",
        ),
    ],
    preset: Annotated[
        str,
        typer.Option(
            help="Recipe: tiny (synthetic videos, the embedded model), tiny_s0 (synthetic still images), "
            "stcn_s03 (STCN main training: DAVIS + YouTube-VOS), stcn_s0 (STCN static-image pretraining), "
            "xmem_tiny (XMem on synthetic videos, the embedded tiny_xmem), xmem_s03 (XMem main training).",
        ),
    ] = "tiny",
    source: Annotated[
        str | None,
        typer.Option(
            help="Override the preset's data: synthetic, synthetic-static, davis, youtube, davis+youtube, "
            "static-folder.",
            rich_help_panel=_DATA,
        ),
    ] = None,
    data_root: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding DAVIS/2017/trainval (train split) and YouTube2018/train.",
            rich_help_panel=_DATA,
        ),
    ] = None,
    static_folder: Annotated[
        Path | None,
        typer.Option(help="Still images (*.jpg) with same-named *.png masks.", rich_help_panel=_DATA),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(min=1, help="Adam steps (schedules scale with it).", rich_help_panel=_SCHEDULE),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Sequences per step.", rich_help_panel=_SCHEDULE)
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Initial learning rate.", rich_help_panel=_SCHEDULE)
    ] = None,
    init: Annotated[
        str | None,
        typer.Option(
            help="scratch, or imagenet (full size only: torchvision's ResNet weights, downloaded once).",
            rich_help_panel=_SCHEDULE,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initial weights and of every random draw.")] = 1,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start again in an OUTPUT that holds another run.")
    ] = False,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Train an STCN or XMem network with its official recipe (STCN: 3-frame sequences, bootstrapped CE,
    Adam; XMem: 8-frame sequences with sensory memory, bootstrapped CE + dice, AdamW; both step-decayed).

    Run the same command again to resume after an interruption; the final network is OUTPUT/model.pth
    (it records its family: use it with a config of the same model).

    Example (the embedded tiny model, docs/demo.md): ttvos train --preset tiny -o runs/tiny --device cpu
    """
    setup_logging(verbose=verbose, quiet=quiet)
    with user_errors():
        from ttvos.device import resolve_device
        from ttvos.train.loop import MODEL_FILE, Trainer, TrainRequest
        from ttvos.train.recipe import resolve_recipe

        overrides = dict(source=source, iterations=iterations, batch_size=batch_size, lr=lr, init=init)
        config = resolve_recipe(preset, overrides)
        request = TrainRequest(config, output, seed=seed, data_root=data_root, static_folder=static_folder)
        trainer = Trainer(request, resolve_device(device), overwrite=overwrite)
        with make_progress(quiet=quiet) as progress:
            task = progress.add_task("training", total=config.iterations, completed=trainer.iteration)
            for step in trainer.run():
                progress.update(
                    task,
                    completed=step.iteration,
                    description=f"training loss {step.loss:.3f} lr {step.lr:.1e} skip {step.max_skip}",
                )
    console.print(f"trained {config.iterations} iterations; network: {output / MODEL_FILE}", highlight=False)

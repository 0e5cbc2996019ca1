"""``ttvos config save|show|list``: create, inspect and list run configurations."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.syntax import Syntax
from rich.table import Table

from ttvos.commands._ui import console, err_console, user_errors

app = typer.Typer(
    help="Create, show and list run configurations (the paper's nine, the stcn and xmem baselines, and "
    "xmem_mcc / xmem_ae / xmem_ent are bundled).",
    no_args_is_help=True,
)

_TTT = "Test-time training"
_INFERENCE = "Inference"


@app.command("save")
def save(
    name: Annotated[
        str, typer.Argument(help="Config name (saved in the user config folder) or a .yaml path.")
    ],
    base: Annotated[str, typer.Option("--from", help="Config to start from (name or path).")] = "stcn_mcc",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
    weights: Annotated[
        str | None,
        typer.Option(help="Registered model (stcn, stcn_s01, stcn_s0, xmem, ...) or checkpoint path."),
    ] = None,
    amp: Annotated[bool | None, typer.Option("--amp/--no-amp", help="Mixed precision on CUDA.")] = None,
    loss: Annotated[
        str | None,
        typer.Option(help="TTT loss: mcc, ae, ent, or none (no adaptation).", rich_help_panel=_TTT),
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.", rich_help_panel=_TTT)] = None,
    weight_decay: Annotated[
        float | None, typer.Option(help="Adam weight decay.", rich_help_panel=_TTT)
    ] = None,
    frozen: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated freezing options applied in order: enc, dec, all_keys, key_enc, val_enc, "
            "key_proj, key_comp, net, bn, ubn ('' = train everything).",
            rich_help_panel=_TTT,
        ),
    ] = None,
    jump_steps: Annotated[
        int | None, typer.Option(min=0, help="Outer TTT rounds.", rich_help_panel=_TTT)
    ] = None,
    iters_per_jump: Annotated[
        int | None,
        typer.Option(
            "--iters-per-jump", "--iters", min=0, help="Adam steps per round and stage.", rich_help_panel=_TTT
        ),
    ] = None,
    max_jump: Annotated[
        list[int] | None,
        typer.Option(
            help="Largest frame gap, one per stage (repeat the option for several).", rich_help_panel=_TTT
        ),
    ] = None,
    seq_len: Annotated[
        list[int] | None,
        typer.Option(help="Frames per training sequence, one per stage (repeatable).", rich_help_panel=_TTT),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Sequences per Adam step.", rich_help_panel=_TTT)
    ] = None,
    ttt_resolution: Annotated[
        str | None, typer.Option(help="Shorter side of training frames, or 'native'.", rich_help_panel=_TTT)
    ] = None,
    augmentations: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: colour, geometric ('' = none, as in the paper).", rich_help_panel=_TTT
        ),
    ] = None,
    scale: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Random-resized-crop scale range MIN MAX.", rich_help_panel=_TTT),
    ] = None,
    ratio: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Random-resized-crop ratio range MIN MAX.", rich_help_panel=_TTT),
    ] = None,
    max_objects: Annotated[
        int | None, typer.Option(min=1, help="Objects per training sequence.", rich_help_panel=_TTT)
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(min=1, help="Memory entries kept per query position.", rich_help_panel=_INFERENCE),
    ] = None,
    mem_every: Annotated[
        int | None,
        typer.Option(min=1, help="A frame joins the memory every N frames.", rich_help_panel=_INFERENCE),
    ] = None,
    include_last: Annotated[
        bool | None,
        typer.Option(
            "--include-last/--no-include-last",
            help="Keep the previous frame as temporary memory.",
            rich_help_panel=_INFERENCE,
        ),
    ] = None,
    resolution: Annotated[
        str | None,
        typer.Option(help="Shorter side the network runs at, or 'native'.", rich_help_panel=_INFERENCE),
    ] = None,
    antialias: Annotated[
        bool | None,
        typer.Option(
            "--antialias/--no-antialias",
            help="Antialias frames resized to the resolution (torchvision >= 0.17); the paper did not.",
            rich_help_panel=_INFERENCE,
        ),
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Set any key of the config (repeatable), e.g. --set model=xmem, --set inference.top_k=30, "
            "--set ttt.seq_len=[3,5]; values are read as YAML and checked like a config file "
            "(docs/configs.md lists the keys). Another model starts from its own inference options.",
        ),
    ] = None,
) -> None:
    """Save a complete config, starting from --from and changing what the options say.

    `ttvos config save my_cfg --lr 1e-5` writes my_cfg.yaml to the user config folder, where
    `ttvos run --config my_cfg` finds it; `--set KEY=VALUE` reaches every key, e.g.
    `ttvos config save my_xmem --from xmem_mcc --set inference.mem_every=10`.
    """
    with user_errors():
        from ttvos.config import (
            ConfigError,
            find_config,
            load_config,
            parse_assignment,
            replace,
            save_config,
            save_path,
        )

        overrides: dict[str, Any] = {
            "weights": weights,
            "amp": amp,
            "ttt.loss": loss,
            "ttt.lr": lr,
            "ttt.weight_decay": weight_decay,
            "ttt.frozen": frozen,
            "ttt.jump_steps": jump_steps,
            "ttt.iters_per_jump": iters_per_jump,
            "ttt.max_jump": max_jump or None,
            "ttt.seq_len": seq_len or None,
            "ttt.batch_size": batch_size,
            "ttt.resolution": _resolution(ttt_resolution),
            "ttt.augmentations": augmentations,
            "ttt.scale": scale,
            "ttt.ratio": ratio,
            "ttt.max_objects": max_objects,
            "inference.top_k": top_k,
            "inference.mem_every": mem_every,
            "inference.include_last": include_last,
            "inference.antialias": antialias,
            "inference.resolution": _resolution(resolution),
        }
        given = {key: value for key, value in overrides.items() if value is not None}
        for key, value in map(parse_assignment, assignments or []):
            if key in given:
                raise ConfigError(f"{key} is given twice (by --set and another option, or two --set)")
            given[key] = value
        path, shadows = save_path(name, force=force)
        config = replace(load_config(base), "command-line options", name=path.stem, **given)
        save_config(config, path, force=force)
        find_config(str(path) if name.endswith((".yaml", ".yml")) else name)  # what `run --config` finds
    console.print(f"Saved config [bold]{config.name}[/] to {path}", highlight=False)
    if shadows:
        err_console.print(f"[yellow]note:[/] {shadows}", highlight=False)


def _resolution(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Config name or path.")]) -> None:
    """Print a config as ttvos resolves it (every key, defaults filled in) and where it was found."""
    with user_errors():
        import yaml

        from ttvos.config import config_to_dict, find_config, load_config

        path = find_config(name)
        text = yaml.safe_dump(config_to_dict(load_config(name)), sort_keys=False)
    console.print(f"# {path}", highlight=False, style="dim")
    console.print(Syntax(text, "yaml", background_color="default"))


@app.command("list")
def list_(
    paths: Annotated[bool, typer.Option("--paths", help="Also print where each config file lies.")] = False,
) -> None:
    """List the available configs (user configs first hide bundled ones of the same name)."""
    with user_errors():
        from ttvos.config import find_config, list_configs, load_config

        table = Table("config", "model", "weights", "loss", "lr", "rounds x iters", "frozen")
        if paths:
            table.add_column("file")
        for name in list_configs():
            config = load_config(name)
            ttt = config.ttt
            row = [
                name,
                config.model,
                config.weights,
                ttt.loss,
                f"{ttt.lr:g}" if ttt.enabled else "-",
                f"{ttt.jump_steps} x {ttt.iters_per_jump}" if ttt.enabled else "-",
                ",".join(ttt.frozen) or "-",
            ]
            table.add_row(*row, *([str(find_config(name))] if paths else []))
    console.print(table)

"""Checkpoints by name: the stand-in, the registry's downloaded and embedded models, or a file path.

Where models come from is the registry's business (``ttvos/download/registry.yaml``); this module
adds what is particular to checkpoints: the weights cache, the structural check a download must
pass when no hash is published (it must load and fit its family's network, STCN or XMem), and
resolving a name for ``ttvos run``. A downloaded checkpoint is checked against its published or
pinned SHA-256 on every use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ttvos.config import ModelName
from ttvos.download.registry import Model, embedded_path, load_registry
from ttvos.download.store import DownloadError, check_hash, lock_path, pinned_hash
from ttvos.download.store import sha256_of as sha256_of  # re-exported: the runner records it
from ttvos.download.transfer import Network, Progress, adopt, download
from ttvos.errors import UserError
from ttvos.paths import user_folder

STANDIN = "standin"  # deterministic stand-in weights, generated locally (not trained)

ModelState = Literal["embedded", "missing", "pinned", "unpinned", "partial", "absent"]


@dataclass(frozen=True)
class ModelStatus:
    """What ``download-models --list`` shows: a model and its file in this installation or cache."""

    model: Model
    path: Path
    state: ModelState  # missing: an embedded file absent from the install; pinned: hash recorded
    size: int | None  # bytes on disk (of the partial download for "partial")


def weights_dir() -> Path:
    """``$TTVOS_WEIGHTS``, else ``$XDG_CACHE_HOME/ttvos/weights`` (default ``~/.cache``)."""
    return user_folder("TTVOS_WEIGHTS", "XDG_CACHE_HOME", "weights")


def get_model(name: str) -> Model:
    models = load_registry().models
    if name not in models:
        raise UserError(f"unknown model {name!r}; registered: {', '.join(models)}")
    return models[name]


def resolve_weights(
    weights: str, family: ModelName | None = None, *, family_from: str = "the config's model"
) -> Path | None:
    """Checkpoint file for a registered name or a path; ``None`` means the stand-in weights.

    A registered checkpoint that is not downloaded yet, or whose hash no longer matches, is an
    error that says which command fixes it; so is one of another family than ``family`` (when
    given), which the message says comes from ``family_from``.
    """
    if weights == STANDIN:
        return None
    models = load_registry().models
    if weights in models:
        model = models[weights]
        if family is not None and model.family != family:
            fitting = ", ".join(name for name, other in models.items() if other.family == family)
            raise UserError(
                f"weights {weights!r} are for model {model.family}, but {family_from} is {family}: "
                f"use {fitting}, or a checkpoint file, or --weights {STANDIN}"
            )
        return _embedded(model) if model.embedded else _downloaded(model, weights_dir())
    path = Path(weights).expanduser()
    if not path.is_file():
        known = ", ".join([*models, STANDIN])
        raise UserError(f"--weights {weights}: no such checkpoint file and not a registered model ({known})")
    return path


def _embedded(model: Model) -> Path:
    path = embedded_path(model)
    if not path.is_file():
        raise UserError(f"weights {model.name!r} ship inside ttvos, but {path} is missing: reinstall ttvos")
    return path


def _downloaded(model: Model, folder: Path) -> Path:
    assert model.file is not None
    path = folder / model.file.filename
    if not path.is_file():
        raise UserError(
            f"weights {model.name!r} are not downloaded yet: run `ttvos download-models {model.name}`"
        )
    lock = lock_path(folder, model.file.filename)
    check_hash(path, model.file, lock, fix=f"run `ttvos download-models {model.name} --force`")
    return path


def check_checkpoint(path: Path, family: ModelName = "stcn") -> None:
    """A checkpoint must load (weights only) into its family's network, or it is refused."""
    import struct

    from ttvos.families import FAMILIES
    from ttvos.model.checkpoint import CheckpointError

    try:
        FAMILIES[family].load(path, "cpu")
    except (CheckpointError, struct.error) as error:  # struct.error: torch.load on a few bytes of junk
        raise DownloadError(f"not a valid {FAMILIES[family].label} checkpoint ({error})") from error


def fetch_model(name: str, folder: Path, network: Network, *, force: bool = False) -> Iterator[Progress]:
    """Download a registered model into ``folder`` (nothing to do for an embedded one, if present)."""
    model = get_model(name)
    if model.embedded:
        _embedded(model)
        return
    assert model.file is not None
    yield from download(
        model.file,
        folder,
        network,
        verify=lambda path: check_checkpoint(path, model.family),
        force=force,
        fix=f"run `ttvos download-models {name} --force`",
        by_hand=f"fetch it by hand and run `ttvos download-models {name} --from-file PATH`",
    )


def adopt_model(name: str, path: Path, folder: Path) -> Iterator[Progress]:
    """Register a checkpoint fetched by hand as the registered model ``name``, checked like a download."""
    model = get_model(name)
    if model.file is None:
        raise UserError(f"{name!r} ships inside ttvos: there is no file to register")
    fix = f"is {path} really {model.file.filename}?"
    yield from adopt(
        path, model.file, folder, verify=lambda path: check_checkpoint(path, model.family), fix=fix
    )


def model_status(folder: Path) -> list[ModelStatus]:
    """Every registered model and what is on disk for it (nothing is hashed: this is a listing)."""
    rows = []
    for model in load_registry().models.values():
        if model.embedded:
            path = embedded_path(model)
            rows.append(ModelStatus(model, path, "embedded" if path.is_file() else "missing", _size(path)))
            continue
        assert model.file is not None
        path = folder / model.file.filename
        part = folder / f"{model.file.filename}.part"
        if path.is_file():
            pinned = model.file.sha256 or pinned_hash(lock_path(folder, model.file.filename))
            rows.append(ModelStatus(model, path, "pinned" if pinned else "unpinned", _size(path)))
        else:
            rows.append(ModelStatus(model, path, "partial" if part.is_file() else "absent", _size(part)))
    return rows


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None

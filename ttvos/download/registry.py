"""The download registry (``registry.yaml``) as typed records: what exists, where from, where to.

The registry is data: adding a mirror host or a release means editing the YAML file, not code.
Loading is strict (unknown keys, kinds and layouts are refused) so that a typo cannot silently
drop a source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from ttvos.config import ModelName

SourceKind = Literal["url", "drive", "onedrive"]
Layout = Literal[
    "davis-trainval", "davis-testdev", "davis-c", "youtube-valid", "youtube-all-frames", "mose-valid"
]


class RegistryError(ValueError):
    """A malformed registry file: a bug in the package (or in a test's registry), not a user mistake."""


@dataclass(frozen=True)
class Source:
    """One place a file can be fetched from: a URL, a Google Drive file id or a OneDrive share link."""

    kind: SourceKind
    value: str

    @property
    def label(self) -> str:
        """Short name for messages: the host of a URL, or the service."""
        if self.kind == "drive":
            return "Google Drive"
        if self.kind == "onedrive":
            return "OneDrive"
        return self.value.split("/")[2] if "://" in self.value else self.value


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its unique name (the cache and mirror name) and its sources in priority order."""

    filename: str
    sources: tuple[Source, ...]
    size: int | None = None  # bytes, when published
    sha256: str | None = None  # when published; else the first verified download is pinned


@dataclass(frozen=True)
class Model:
    """A checkpoint: downloaded (``file``) or shipped in the package (``embedded``, in ttvos/embedded/)."""

    name: str
    description: str
    file: RemoteFile | None = None
    embedded: str | None = None
    default: bool = False  # fetched by `ttvos download-models` without names
    family: ModelName = "stcn"  # the network it is for (the config key `model`)


@dataclass(frozen=True)
class Archive:
    """A dataset archive and how its layout maps onto the data root that ``ttvos run`` reads."""

    file: RemoteFile
    roots: tuple[str, ...]  # folder inside the archive that becomes ``target`` (first that exists; "" = top)
    target: str  # relative to the data root
    layout: Layout  # how the unpacked tree is checked
    videos: int | None  # the release's video count; None = check the structure only


@dataclass(frozen=True)
class Registry:
    models: dict[str, Model]
    archives: dict[str, Archive]
    datasets: dict[str, tuple[str, ...]]  # dataset name -> archive names, in preparation order

    def dataset_archives(self, names: list[str]) -> list[Archive]:
        """The archives of several datasets, each once, in order."""
        ordered = dict.fromkeys(a for name in names for a in self.datasets[name])
        return [self.archives[a] for a in ordered]


def _take(record: dict[str, Any], where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RegistryError(f"{where}: expected a mapping")
    unknown = set(record) - required - optional
    missing = required - set(record)
    if unknown or missing:
        raise RegistryError(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    return record


def _sources(items: Any, where: str) -> tuple[Source, ...]:
    if not isinstance(items, list) or not items:
        raise RegistryError(f"{where}: sources must be a non-empty list")
    sources = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise RegistryError(f"{where}: each source is one 'kind: value' pair, got {item!r}")
        ((kind, value),) = item.items()
        if kind not in get_args(SourceKind) or not isinstance(value, str):
            raise RegistryError(
                f"{where}: unknown source kind {kind!r} (use {', '.join(get_args(SourceKind))})"
            )
        sources.append(Source(kind, value))
    return tuple(sources)


def _file(name: str, record: dict[str, Any], where: str) -> RemoteFile:
    return RemoteFile(name, _sources(record["sources"], where), record.get("size"), record.get("sha256"))


def parse_registry(data: dict[str, Any]) -> Registry:
    """Check and convert the registry's YAML mapping."""
    _take(data, "registry", {"models", "archives", "datasets"}, set())
    models = {}
    for name, record in data["models"].items():
        where = f"models.{name}"
        if not isinstance(record, dict):
            raise RegistryError(f"{where}: expected a mapping")
        if "embedded" in record:
            _take(record, where, {"embedded", "description"}, {"family"})
        else:
            _take(record, where, {"file", "description", "sources"}, {"default", "size", "sha256", "family"})
        family = record.get("family", "stcn")
        if family not in get_args(ModelName):
            raise RegistryError(f"{where}: unknown family {family!r} (use {', '.join(get_args(ModelName))})")
        if "embedded" in record:
            models[name] = Model(name, record["description"], embedded=record["embedded"], family=family)
        else:
            models[name] = Model(
                name,
                record["description"],
                file=_file(record["file"], record, where),
                default=bool(record.get("default", False)),
                family=family,
            )
    archives = {}
    for name, record in data["archives"].items():
        where = f"archives.{name}"
        _take(record, where, {"sources", "roots", "target", "layout", "videos"}, {"size", "sha256"})
        if record["layout"] not in get_args(Layout):
            raise RegistryError(f"{where}: unknown layout {record['layout']!r}")
        archives[name] = Archive(
            _file(name, record, where),
            tuple(record["roots"]),
            record["target"],
            record["layout"],
            record["videos"],
        )
    datasets = {name: tuple(items) for name, items in data["datasets"].items()}
    for name, items in datasets.items():
        if not items or any(item not in archives for item in items):
            raise RegistryError(f"datasets.{name}: every entry must name an archive of the registry")
    names = [m.file.filename for m in models.values() if m.file] + list(archives)
    if len(set(names)) != len(names):
        raise RegistryError("file names must be unique: a mirror serves every file flat under its name")
    return Registry(models, archives, datasets)


@functools.lru_cache(maxsize=1)
def load_registry() -> Registry:
    """The registry shipped with the package."""
    text = resources.files("ttvos.download").joinpath("registry.yaml").read_text(encoding="utf-8")
    return parse_registry(yaml.safe_load(text))


def embedded_path(model: Model) -> Path:
    """Where an embedded checkpoint lives in this installation (it may be missing from a broken install)."""
    assert model.embedded is not None
    return Path(str(resources.files("ttvos").joinpath("embedded", model.embedded)))

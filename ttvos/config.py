"""Run configurations: typed dataclasses stored as YAML, with strict one-line validation errors.

A configuration holds what the paper's config files hold (``ttt_configs/*.yaml`` of the official
code), under the names used everywhere in ttvos. Names are looked up in this order: an existing
file path, the user config folder (:func:`user_config_dir`), the bundled ``configs/`` folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

import yaml

from ttvos.errors import UserError
from ttvos.paths import user_folder, write_text_atomic

LossName = Literal["none", "mcc", "ae", "ent"]
FreezeOption = Literal[
    "enc", "dec", "all_keys", "key_enc", "val_enc", "key_proj", "key_comp", "net", "bn", "ubn"
]
Augmentation = Literal["colour", "geometric"]
Schedule = Literal["faithful", "fast"]
AmpDtype = Literal["float16", "bfloat16"]  # autocast dtypes of `amp` (docs/performance.md)
ModelName = Literal["stcn", "xmem"]  # the network families (ttvos/families.py builds and runs them)
T = TypeVar("T")


class ConfigError(UserError):
    """A configuration file or override that does not fit the schema."""


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def is_plain_name(name: str) -> bool:
    """Letters, digits, ``_-.`` (not first ``.`` or ``-``): a config name is a results folder name
    and a file name in the config folder, so it must not climb out of either (``../x``)."""
    return _PLAIN_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class InferenceConfig:
    """How a video is segmented (STCN inference)."""

    top_k: int = 20  # memory entries kept per query position (top-k softmax)
    mem_every: int = 5  # a frame becomes permanent memory every mem_every frames
    include_last: bool = False  # keep the previous frame as a temporary memory entry
    resolution: int | None = 480  # shorter side the network runs at; None (YAML: native) = input size
    # Antialias frames when resizing them to the resolution (bicubic): torchvision >= 0.17's tensor
    # Resize does; the paper's code ran with torchvision <= 0.16, whose tensor Resize did not.
    antialias: bool = False
    interpolation: ClassVar[str] = "bicubic"  # frames are resized as STCN's evaluation does (not a key)
    # Keep at most this many memory frames besides the annotated ones (the newest; None = all, as the
    # reference): memory stops growing with the video's length (docs/performance.md).
    max_memory_frames: int | None = None

    def problems(self) -> list[str]:
        """One-line descriptions of the values STCN cannot run with (empty when all are valid)."""
        checks = [(self.top_k >= 1, "top_k must be >= 1"), (self.mem_every >= 1, "mem_every must be >= 1")]
        checks.append(
            (
                self.max_memory_frames is None or self.max_memory_frames >= 1,
                "max_memory_frames must be >= 1 (or null: no cap)",
            )
        )
        return [message for ok, message in checks if not ok]


@dataclass(frozen=True)
class XMemInferenceConfig:
    """How a video is segmented with XMem: the options of XMem's ``eval.py``, its names and defaults."""

    top_k: int = 30  # memory elements kept per query position (top-k softmax)
    mem_every: int = 5  # a frame becomes working memory every mem_every frames (r in the paper)
    deep_update_every: int = -1  # deep hidden-state update every N frames; < 0: on every memory frame
    enable_long_term: bool = True  # consolidate old working memory into long-term prototypes
    min_mid_term_frames: int = 5  # T_min: frames left after consolidating (the first + T_min-1 newest)
    max_mid_term_frames: int = 10  # T_max: working-memory frames that trigger a consolidation
    num_prototypes: int = 128  # P: long-term prototypes made per consolidation
    max_long_term_elements: int = 10000  # LT_max: least-used long-term elements are removed beyond it
    resolution: int | None = 480  # shorter side the network runs at (XMem's --size); None = input size
    antialias: bool = False  # antialias frames when resizing them (see InferenceConfig.antialias)
    interpolation: ClassVar[str] = "bilinear"  # frames are resized as XMem's eval.py does (not a key)

    def problems(self) -> list[str]:
        """One-line descriptions of the values XMem cannot run with (empty when all are valid)."""
        checks = [
            (self.top_k >= 1, "top_k must be >= 1"),
            (self.mem_every >= 1, "mem_every must be >= 1"),
            (self.min_mid_term_frames >= 1, "min_mid_term_frames must be >= 1"),
            (
                self.max_mid_term_frames > self.min_mid_term_frames,
                "max_mid_term_frames must be larger than min_mid_term_frames",
            ),
            (self.num_prototypes >= 1, "num_prototypes must be >= 1"),
            (
                self.max_long_term_elements > self.num_prototypes,
                "max_long_term_elements must be larger than num_prototypes",
            ),
            (self.resolution is None or self.resolution >= 16, "resolution must be >= 16 pixels or native"),
        ]
        return [message for ok, message in checks if not ok]

    def counts_long_term_usage(self, num_frames: int) -> bool:
        """Whether long-term usage is counted: only when the video can fill the long-term memory.

        ``eval.py``'s rule: ``T / (T_max - T_min) * P >= LT_max`` for a video of T frames. Without
        the count, the least-used long-term elements could not be found (nor need to be).
        """
        frames_per_consolidation = self.max_mid_term_frames - self.min_mid_term_frames
        return (
            self.enable_long_term
            and num_frames / frames_per_consolidation * self.num_prototypes >= self.max_long_term_elements
        )


InferenceSettings = InferenceConfig | XMemInferenceConfig


@dataclass(frozen=True)
class ModelSchema:
    """What a config holds for one model family (the networks themselves: ``ttvos/families.py``)."""

    inference: type[InferenceConfig] | type[XMemInferenceConfig]  # the schema of its inference section
    weights: str  # its default checkpoint (a registered model name)
    frozen: tuple[FreezeOption, ...]  # the freezing options its modules have


MODELS: dict[ModelName, ModelSchema] = {
    "stcn": ModelSchema(InferenceConfig, "stcn", get_args(FreezeOption)),
    # XMem's decoder reads f16 itself: there is no key_comp to freeze
    "xmem": ModelSchema(
        XMemInferenceConfig, "xmem", tuple(o for o in get_args(FreezeOption) if o != "key_comp")
    ),
}


@dataclass(frozen=True)
class TTTConfig:
    """Test-time training before segmenting a video (Bertrand et al. 2023)."""

    loss: LossName = "none"  # mcc (mask cycle consistency), ae (auto-encoder), ent (entropy); none = no TTT
    lr: float = 1e-6  # Adam learning rate
    weight_decay: float = 1e-7  # Adam weight decay (the reference's constant)
    frozen: tuple[FreezeOption, ...] = ()  # freezing options, applied in order (see docs/ttt.md)
    jump_steps: int = 10  # outer rounds; tt-MCC refreshes its pseudo-masks at each one
    iters_per_jump: int = 10  # Adam steps per round and stage (a new optimiser per stage)
    max_jump: tuple[int, ...] = (10,)  # per stage: largest gap between consecutive sampled frames
    seq_len: tuple[int, ...] = (3,)  # per stage: frames per training sequence (frame 0 included)
    batch_size: int = 1  # sequences per Adam step
    resolution: int | None = 480  # shorter side of the training frames; None = input size
    augmentations: tuple[Augmentation, ...] = ()  # colour and/or geometric; () = none (paper)
    scale: tuple[float, float] = (1.0, 1.0)  # random-resized-crop scale range ((1, 1) = plain resize)
    ratio: tuple[float, float] = (1.0, 1.0)  # random-resized-crop aspect-ratio range
    max_objects: int = 6  # objects per training sequence (the reference's max_obj)
    schedule: Schedule = "faithful"  # order of operations: faithful (the reference), fast (performance.md)

    @property
    def enabled(self) -> bool:
        return self.loss != "none" and self.jump_steps * self.iters_per_jump > 0

    @property
    def total_steps(self) -> int:
        """Adam steps per video."""
        return self.jump_steps * len(self.stages()) * self.iters_per_jump if self.enabled else 0

    def stages(self) -> list[tuple[int, int]]:
        """(max_jump, seq_len) per stage; a single value is repeated to the other list's length."""
        jumps, lengths = self.max_jump, self.seq_len
        if len(jumps) == 1:
            jumps = jumps * len(lengths)
        if len(lengths) == 1:
            lengths = lengths * len(jumps)
        return list(zip(jumps, lengths, strict=True))


@dataclass(frozen=True)
class Config:
    """A complete run configuration."""

    name: str
    model: ModelName = "stcn"  # network family; its options go under inference (YAML default: its own)
    weights: str = "stcn"  # registered model (stcn, stcn_s01, stcn_s0, xmem, ...) or checkpoint path
    amp: bool | AmpDtype = False  # mixed precision: true = float16 on CUDA; float16 / bfloat16 (also CPU)
    inference: InferenceSettings = field(default_factory=InferenceConfig)  # the model's inference options
    ttt: TTTConfig = field(default_factory=TTTConfig)

    def __post_init__(self) -> None:
        expected = MODELS[self.model].inference
        if not isinstance(self.inference, expected):
            raise TypeError(f"model {self.model} takes {expected.__name__} inference settings")


# ---------------------------------------------------------------------------------------------
# Validation: YAML mapping -> dataclass, every value checked against its annotated type.


def _allowed(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_allowed(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of ({_allowed(args[0])})"
        return f"a list of {len(args)} numbers"
    if tp is type(None):
        return "native"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        for option in get_args(tp):
            try:
                return _convert(value, option, where)
            except ConfigError:
                continue
    elif origin is Literal:
        if value in get_args(tp):
            return value
    elif origin is tuple:
        args = get_args(tp)
        if value is None:
            items = []
        elif isinstance(value, str):  # "net,ubn", as the reference's TTT_FROZEN_LAYERS
            items = [part.strip() for part in value.split(",") if part.strip()]
        else:
            items = list(value) if isinstance(value, list | tuple) else [value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(item, args[0], where) for item in items)
        if len(items) == len(args):
            return tuple(_convert(item, arg, where) for item, arg in zip(items, args, strict=True))
    elif tp is type(None):
        if value is None or value == "native":
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str) and value:
            return value
    raise ConfigError(f"{where}: {value!r} is not {_allowed(tp)}")


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [key for key in data if key not in names]
    if unknown:
        raise ConfigError(
            f"{where or 'config'}: unknown key {unknown[0]!r}; allowed keys: {', '.join(names)}"
        )
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in data and _is_required(f)]
    if missing:
        raise ConfigError(f"{where or 'config'}: missing key {missing[0]!r}")
    values = {}
    for name, value in data.items():
        tp = _section_type(cls, data) if (cls, name) == (Config, "inference") else hints[name]
        key = f"{where}.{name}" if where else name
        values[name] = _build(tp, value, key) if dataclasses.is_dataclass(tp) else _convert(value, tp, key)
    return cls(**values)


def _section_type(cls: type, data: dict[str, Any]) -> type:
    """A config's ``inference`` section follows the schema of its ``model``."""
    return MODELS[_convert(data.get("model", "stcn"), ModelName, "model")].inference


def dataclass_from_dict(cls: type[T], data: Any, source: str) -> T:
    """Validate a mapping into any schema dataclass: unknown keys and bad values are one-line errors."""
    try:
        return _build(cls, data, "")
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _check(config: Config, source: str) -> None:
    """Range checks the types cannot express."""
    unsupported = [option for option in config.ttt.frozen if option not in MODELS[config.model].frozen]
    checks = [(False, f"inference.{problem}") for problem in config.inference.problems()]
    checks += [
        (
            not unsupported,
            f"ttt.frozen: {', '.join(unsupported)} does not exist in model {config.model} "
            f"(its options: {', '.join(MODELS[config.model].frozen)})",
        ),
        (config.ttt.lr > 0, "ttt.lr must be > 0"),
        (config.ttt.weight_decay >= 0, "ttt.weight_decay must be >= 0"),
        (
            config.ttt.jump_steps >= 0 and config.ttt.iters_per_jump >= 0,
            "ttt.jump_steps and iters_per_jump must be >= 0",
        ),
        (
            len(config.ttt.max_jump) > 0 and all(j >= 1 for j in config.ttt.max_jump),
            "ttt.max_jump values must be >= 1",
        ),
        (
            len(config.ttt.seq_len) > 0 and all(n >= 1 for n in config.ttt.seq_len),
            "ttt.seq_len values must be >= 1",
        ),
        (
            config.ttt.batch_size >= 1 and config.ttt.max_objects >= 1,
            "ttt.batch_size and max_objects must be >= 1",
        ),
        (
            len(config.ttt.max_jump) == 1 or len(config.ttt.seq_len) in (1, len(config.ttt.max_jump)),
            "ttt.max_jump and ttt.seq_len must have equal lengths (or one of them a single value)",
        ),
        (
            config.ttt.loss != "mcc" or min(config.ttt.seq_len) >= 2,
            "ttt.seq_len must be >= 2 for the mcc loss",
        ),
        (
            config.ttt.loss != "ent" or min(config.ttt.seq_len) >= 2,
            "ttt.seq_len must be >= 2 for the ent loss",
        ),
    ]
    for resolution in (config.inference.resolution, config.ttt.resolution):
        checks.append((resolution is None or resolution >= 16, "resolutions must be >= 16 pixels or native"))
    checks.append(
        (
            is_plain_name(config.name),
            f"name {config.name!r} is not a plain name (letters, digits, '_', '-', '.'): results are "
            "written to a folder of that name",
        )
    )
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{source}: {message}")


def config_from_dict(data: dict[str, Any], source: str) -> Config:
    """Validate a mapping (as read from YAML) into a :class:`Config`; errors name ``source``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a YAML mapping at the top level")
    try:
        model = _convert(data.get("model", "stcn"), ModelName, "model")
        # a model's own defaults: its registered weights, its inference options
        config = _build(Config, {"weights": MODELS[model].weights, "inference": {}, **data}, "")
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    _check(config, source)
    return config


def config_to_dict(config: Config) -> dict[str, Any]:
    """A plain mapping for YAML (tuples as lists, ``None`` resolutions as ``native``)."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    data = dataclasses.asdict(config)
    for section in ("inference", "ttt"):
        data[section] = {
            k: ("native" if k == "resolution" and v is None else plain(v)) for k, v in data[section].items()
        }
    return data


def replace(config: Config, source: str = "overrides", **overrides: Any) -> Config:
    """Copy of ``config`` with dotted overrides (``{"ttt.lr": 1e-5}``), validated like a file.

    Another ``model`` starts from that model's defaults for ``inference`` and ``weights`` (the
    old model's options do not apply to it), unless the overrides set them too.
    """
    data = config_to_dict(config)
    if overrides.get("model", config.model) != config.model:
        del data["inference"], data["weights"]
    for dotted, value in overrides.items():
        target = data
        *parents, last = dotted.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})  # an unknown section is refused by the schema
            if not isinstance(target, dict):
                raise ConfigError(f"{source}: {dotted}: {parent} is a value, not a section")
        target[last] = list(value) if isinstance(value, tuple) else value
    return config_from_dict(data, source)


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` (``config save --set``) -> a dotted key and its value, read as YAML.

    ``1e-5`` is a number (YAML 1.1 reads exponents without a dot as strings); the schema checks
    the key and the value when the config is built.
    """
    key, equals, raw = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE, e.g. ttt.lr=1e-5 or inference.top_k=20")
    if key == "name":
        raise ConfigError("--set name=...: a config's name is the NAME it is saved as")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"--set {text}: {raw!r} is not a valid YAML value") from None
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        value = float(value)
    return key, value


# ---------------------------------------------------------------------------------------------
# Finding, reading and writing configuration files.


def bundled_config_dir() -> Path:
    """The ``configs/`` shipped with ttvos (inside an installed wheel, or the source checkout)."""
    installed = Path(str(resources.files("ttvos"))) / "configs"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[1] / "configs"


def user_config_dir() -> Path:
    """``$TTVOS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/ttvos/configs`` (default ``~/.config``)."""
    return user_folder("TTVOS_CONFIG_DIR", "XDG_CONFIG_HOME", "configs")


def find_config(name: str) -> Path:
    """Resolve a config name or path (search order in the module docstring)."""
    candidate = Path(name).expanduser()
    if candidate.suffix in (".yaml", ".yml") or os.sep in name:
        if candidate.is_file():
            return candidate
        raise ConfigError(f"{name}: config file not found")
    for folder in (user_config_dir(), bundled_config_dir()):
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    raise ConfigError(
        f"unknown config {name!r}: not a file, not in {user_config_dir()} nor among the bundled configs "
        f"({', '.join(list_configs())})"
    )


def list_configs() -> list[str]:
    """Names of the bundled and user configs (a user config hides a bundled one of that name)."""
    names = {
        p.stem
        for folder in (bundled_config_dir(), user_config_dir())
        if folder.is_dir()
        for p in folder.glob("*.yaml")
    }
    return sorted(names)


def load_config(name: str) -> Config:
    """Read and validate a config by name or path."""
    path = find_config(name)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return config_from_dict(data, str(path))


def save_path(name: str, *, force: bool = False) -> tuple[Path, str | None]:
    """Where ``ttvos config save NAME`` writes: a ``.yaml`` path as given, else ``NAME.yaml`` in the
    user config folder; and a note when that file shadows a bundled config (allowed with ``force``)."""
    if name.endswith((".yaml", ".yml")):
        return Path(name).expanduser(), None
    if not is_plain_name(name):
        raise ConfigError(
            f"{name!r}: not a plain config name (letters, digits, '_', '-', '.'); "
            "give a .yaml path to write a config file elsewhere"
        )
    path, bundled = user_config_dir() / f"{name}.yaml", bundled_config_dir() / f"{name}.yaml"
    if not bundled.is_file():
        return path, None
    if not force:
        raise ConfigError(
            f"{name} is a bundled config: a user config of that name would shadow it in every run; "
            "choose another name, or use --force to shadow it"
        )
    return path, f"it shadows the bundled config {name} ({bundled})"


def save_config(config: Config, path: Path, *, force: bool = False) -> Path:
    """Write ``config`` as complete YAML; refuse to overwrite an existing file unless ``force``."""
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))

"""``ttvos bench``: speed and memory of inference and test-time training, variants side by side.

Measurements only: it imports the core, never the other way round. :class:`BenchSpec` says what to
measure; :class:`Bench` runs it with one worker process per variant (``ttvos/bench_worker.py``), and
``ttvos.bench_report`` holds the samples, their statistics and ratios.

Every repeat of a measurement runs each variant once, in turn (TTT iterations: one Adam step of
each variant in turn), so that a machine whose speed drifts (other jobs, clock changes) slows every
variant alike and the ratios stay fair. Warm-up repeats run the same way and are discarded. Each
variant lives in its own process: its peak memory is its own, and a variant can run the ttvos of
another source tree (:attr:`Variant.source`). The memory study runs every (length, variant) in a
fresh process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import torch

from ttvos.bench_report import BenchReport
from ttvos.config import ModelName, config_to_dict, list_configs, load_config
from ttvos.data.synthetic import make_synthetic_video, save_video
from ttvos.errors import UserError
from ttvos.families import FAMILIES
from ttvos.model.sizes import SizeName

WORKER = Path(__file__).with_name("bench_worker.py")  # run as a script: see its docstring

Measurement = Literal["inference", "iteration", "video", "memory"]
MEASUREMENTS: tuple[Measurement, ...] = ("inference", "iteration", "video", "memory")
LOSSES = ("mcc", "ae", "ent")

# Per family and network size: the prefix of the bundled configs a variant runs (``<prefix>_<loss>``,
# ``<prefix>_<loss>_fast``); the full size's is the base every worker starts from. Everything else
# the bench needs of a family comes from ``FAMILIES`` (how a worker builds the network) and from
# its configs (which variants and losses apply: see ``BenchSpec.check``).
CONFIG_PREFIXES: dict[ModelName, dict[SizeName, str]] = {
    "stcn": {"full": "stcn", "tiny": "tiny"},
    "xmem": {"full": "xmem", "tiny": "tiny_xmem"},
}


@dataclass(frozen=True)
class Variant:
    """One column of the comparison: settings on top of the paper's config of each loss.

    ``overrides``: dotted config keys (``{"amp": "bfloat16"}``); ``fast``: the loss's ``*_fast``
    config instead of the paper's; ``source``: another ttvos source tree (a git worktree of an
    earlier commit) that runs this variant, for before/after ratios of the engine itself.
    """

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    fast: bool = False
    source: Path | None = None

    @property
    def needs_current_engine(self) -> bool:
        """Settings that an older engine may not know (any override, the fast schedule)."""
        return self.fast or bool(self.overrides)


VARIANT_NAMES = ("faithful", "fast", "bf16", "fp16", "cap", "no-long-term")


def named_variant(name: str, *, cap: int) -> Variant:
    """The built-in variants (``--variants``): see ``ttvos bench --help``.

    A variant applies to a family whose configs have the keys it sets (``cap``: STCN's
    ``inference.max_memory_frames``; ``no-long-term``: XMem's ``inference.enable_long_term``) and,
    for ``fast``, the ``*_fast`` configs; :meth:`BenchSpec.check` refuses the others.
    """
    variants = {
        "faithful": Variant("faithful"),
        "fast": Variant("fast", fast=True),
        "bf16": Variant("bf16", {"amp": "bfloat16"}),
        "fp16": Variant("fp16", {"amp": "float16"}),
        "cap": Variant(f"cap{cap}", {"inference.max_memory_frames": cap}),
        "no-long-term": Variant("no-long-term", {"inference.enable_long_term": False}),
    }
    return variants[name]


@dataclass(frozen=True)
class BenchSpec:
    """The whole benchmark: input, model, measurements, variants and how often each runs."""

    family: ModelName = "stcn"  # the network family (a config's ``model`` key)
    model: SizeName = "full"  # the network size
    weights: Path | None = None  # a checkpoint; None: the deterministic stand-in weights
    size: tuple[int, int] = (240, 432)  # height, width of the synthetic frames (the network runs at it)
    frames: int = 20
    objects: int = 2
    measurements: tuple[Measurement, ...] = ("inference", "iteration", "video")
    losses: tuple[str, ...] = LOSSES
    variants: tuple[Variant, ...] = (Variant("faithful"), Variant("fast", fast=True))
    video_steps: tuple[int, int] | None = None  # (jump_steps, iters_per_jump) of non-fast schedules
    lengths: tuple[int, ...] = (50, 200, 800)  # memory measurement: video lengths
    repeats: int = 3
    warmup: int = 1
    threads: int | None = None  # torch threads in the workers (None: torch's default)
    device: str = "cpu"
    seed: int = 1  # TTT seed (the input video is always the same)

    def check(self) -> None:
        """Refuse combinations that would measure something else than asked, in one line."""
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise UserError(f"--variants: {', '.join(names)} names a variant twice")
        if min(self.size) < 16 or self.frames < 2 or self.objects < 1:
            raise UserError("--size must be at least 16x16, --frames at least 2 and --objects at least 1")
        if self.repeats < 1 or self.warmup < 0:
            raise UserError("--repeats must be >= 1 and --warmup >= 0")
        if (
            self.video_steps is not None
            and any(v.fast for v in self.variants)
            and "video" in self.measurements
        ):
            raise UserError(
                "--video-steps shortens the paper's schedule; the fast variant's steps are its config's"
            )
        for variant in self.variants:
            if variant.source is not None and variant.needs_current_engine:
                raise UserError(
                    f"variant {variant.name}: another source tree runs the faithful settings only"
                )
            self._check_applies(variant)

    def _check_applies(self, variant: Variant) -> None:
        """A variant must change something the family has: its configs' keys, its fast configs, and
        for another source tree, the module that builds the network."""
        label = FAMILIES[self.family].label
        base = config_to_dict(load_config(f"{CONFIG_PREFIXES[self.family]['full']}_{self.losses[0]}"))
        for key in variant.overrides:
            section, _, name = key.rpartition(".")
            if name not in (base[section] if section else base):
                raise UserError(f"variant {variant.name}: {key} is not a setting of {label}")
        targets = [self._target(loss, variant) for loss in self._losses_run()]
        missing = [name for name in targets if name not in list_configs()]
        if missing:
            raise UserError(f"variant {variant.name}: no bundled config {missing[0]} for {label}")
        if variant.source is not None:
            module = Path(variant.source, *self.loader.split(":")[0].split(".")).with_suffix(".py")
            if not module.is_file():
                raise UserError(
                    f"--baseline {variant.source}: that ttvos has no {label} ({module} is missing)"
                )

    def _losses_run(self) -> list[str]:
        """The losses whose configs the measurements read (inference and memory read tt-MCC's)."""
        segmenting = {"inference", "memory"} & set(self.measurements)
        training = {"iteration", "video"} & set(self.measurements)
        return list(dict.fromkeys(["mcc"] * bool(segmenting) + list(self.losses) * bool(training)))

    def _target(self, loss: str, variant: Variant) -> str:
        """The bundled config that ``variant`` runs for ``loss``."""
        prefix = CONFIG_PREFIXES[self.family][self.model]
        return f"{prefix}_{loss}_fast" if variant.fast else f"{prefix}_{loss}"

    @property
    def loader(self) -> str:
        """``module:function`` that builds the family's network (checkpoint, device, size=...) in a worker."""
        load = FAMILIES[self.family].load
        return f"{load.__module__}:{load.__name__}"

    def config(self, loss: str, variant: Variant) -> tuple[str, dict[str, Any]]:
        """The base config name and the dotted overrides a worker applies for ``loss`` and ``variant``.

        The base is the family's full-size config (the paper's ``stcn_<loss>``, which every ttvos
        version has; ``xmem_<loss>``); the overrides turn it into the model's bundled config
        (``tiny_<loss>``, ``tiny_xmem_<loss>`` for the tiny size, ``*_fast`` for the fast variant)
        run at the synthetic frames' size, then add the variant's settings.
        """
        base = f"{CONFIG_PREFIXES[self.family]['full']}_{loss}"
        target = self._target(loss, variant)
        overrides: dict[str, Any] = {"inference.resolution": None, "ttt.resolution": None}
        overrides |= _differences(load_config(base), load_config(target))
        if self.video_steps is not None and not variant.fast:
            overrides |= {"ttt.jump_steps": self.video_steps[0], "ttt.iters_per_jump": self.video_steps[1]}
        return base, overrides | variant.overrides


def _differences(base: Any, other: Any) -> dict[str, Any]:
    """Dotted keys of the ``ttt`` section whose value differs between two configs (resolution aside)."""
    mine, theirs = config_to_dict(base)["ttt"], config_to_dict(other)["ttt"]
    return {f"ttt.{k}": v for k, v in theirs.items() if mine.get(k) != v and k != "resolution"}


def parse_size(text: str) -> tuple[int, int]:
    """``240x432`` -> (240, 432): height x width."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {text}: expected HEIGHTxWIDTH, e.g. 240x432") from None
    return height, width


def parse_list(text: str, allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    """A comma-separated list, each item one of ``allowed``."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    wrong = [item for item in items if item not in allowed]
    if not items or wrong:
        raise UserError(f"{option} {text}: use one or more of {', '.join(allowed)}")
    return items


def parse_ints(text: str, option: str, *, count: int | None = None, separator: str = ",") -> tuple[int, ...]:
    """``50,200,800`` (or ``2x2`` with ``separator='x'``) -> positive integers."""
    try:
        values = tuple(int(item) for item in text.split(separator))
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values) or (count is not None and len(values) != count):
        raise UserError(f"{option} {text}: expected positive integers separated by '{separator}'")
    return values


def build_spec(
    *,
    family: str,
    model: str,
    weights: str | None,
    size: str,
    frames: int,
    objects: int,
    measure: str,
    losses: str,
    variants: str,
    baseline: Path | None,
    video_steps: str | None,
    cap: int,
    lengths: str,
    repeats: int,
    warmup: int,
    threads: int | None,
    seed: int,
    device: str,
) -> BenchSpec:
    """A checked :class:`BenchSpec` from the command line's values."""
    from ttvos.device import resolve_device
    from ttvos.model.checkpoint import read_checkpoint
    from ttvos.weights import resolve_weights

    if family not in FAMILIES:
        raise UserError(f"--family {family}: use {' or '.join(FAMILIES)}")
    if model not in ("full", "tiny"):
        raise UserError(f"--model {model}: use full or tiny")
    path = None if weights is None else resolve_weights(weights, family, family_from="--family")  # type: ignore[arg-type]
    if path is not None:
        model = read_checkpoint(path, family)[0].name
    chosen = [named_variant(name, cap=cap) for name in parse_list(variants, VARIANT_NAMES, "--variants")]
    if baseline is not None:
        if not (baseline / "ttvos" / "__init__.py").is_file():
            raise UserError(f"--baseline {baseline}: not a ttvos source tree (no ttvos/__init__.py in it)")
        chosen.insert(0, Variant("baseline", source=baseline.resolve()))
    steps = None if video_steps is None else parse_ints(video_steps, "--video-steps", count=2, separator="x")
    spec = BenchSpec(
        family=family,  # type: ignore[arg-type]
        model=model,  # type: ignore[arg-type]
        weights=path,
        size=parse_size(size),
        frames=frames,
        objects=objects,
        measurements=parse_list(measure, MEASUREMENTS, "--measure"),  # type: ignore[arg-type]
        losses=parse_list(losses, LOSSES, "--losses"),
        variants=tuple(chosen),
        video_steps=None if steps is None else (steps[0], steps[1]),
        lengths=parse_ints(lengths, "--lengths"),
        repeats=repeats,
        warmup=warmup,
        threads=threads,
        device=str(resolve_device(device)),
        seed=seed,
    )
    spec.check()
    return spec


class BenchError(UserError):
    """A worker failed (its last lines of output say why)."""


@dataclass(frozen=True)
class BenchProgress:
    """What is being measured, and how far the whole benchmark is."""

    label: str
    done: int
    total: int


@dataclass(frozen=True)
class BenchDone:
    report: BenchReport


class WorkerProcess:
    """A worker (``ttvos/bench_worker.py``) running one variant, spoken to in JSON lines."""

    def __init__(self, variant: Variant, spec: BenchSpec, video: tuple[list[str], str]) -> None:
        env = dict(os.environ)
        if variant.source is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(variant.source), env.get("PYTHONPATH")]))
        if spec.threads:
            env["OMP_NUM_THREADS"] = str(spec.threads)
        self.name = variant.name
        self._log: IO[str] = tempfile.TemporaryFile("w+")
        self._process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        frames, mask = video
        weights = None if spec.weights is None else str(spec.weights)
        self.call(
            "setup",
            frames=frames,
            mask=mask,
            family=spec.family,
            loader=spec.loader,
            model=spec.model,
            weights=weights,
            device=spec.device,
            threads=spec.threads,
        )

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        answer = json.loads(line) if line else {"ok": False, "error": "the worker process ended"}
        if not answer.get("ok"):
            self._log.seek(0)
            tail = " | ".join(self._log.read().strip().splitlines()[-3:])
            raise BenchError(
                f"variant {self.name}: {op} failed: {answer['error']}" + (f" ({tail})" if tail else "")
            )
        return answer

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._process.stdin.close()
                self._process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
        self._log.close()


def write_input(folder: Path, spec: BenchSpec) -> tuple[list[str], str]:
    """The synthetic video (moving textured ellipses, JPEG frames, the first frame's palette mask)."""
    height, width = spec.size
    video = make_synthetic_video(spec.frames, height, width, num_objects=spec.objects, seed=0)
    save_video(video, folder / "frames", folder / "masks")
    return sorted(str(p) for p in (folder / "frames").glob("*.jpg")), str(folder / "masks" / "00000.png")


def environment(spec: BenchSpec) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        names = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if spec.device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(spec.device))
    return info


class Bench:
    """Runs the measurements of ``spec``; :meth:`run` yields progress, then :class:`BenchDone`."""

    def __init__(self, spec: BenchSpec, *, profile_rows: int = 0) -> None:
        spec.check()
        self.spec = spec
        self.profile_rows = profile_rows  # > 0: torch.profiler tables of the first variant
        names = [v.name for v in spec.variants]
        summary = {**dataclasses.asdict(spec), "variants": names}
        self.report = BenchReport(summary, environment(spec))
        self._done = 0

    def _total(self) -> int:
        spec, variants = self.spec, len(self.spec.variants)
        rounds = spec.warmup + spec.repeats
        per_kind = {
            "inference": rounds * variants,
            "iteration": len(spec.losses) * (1 + rounds) * variants,
            "video": len(spec.losses) * rounds * variants,
            "memory": len(spec.lengths) * variants,
        }
        return sum(per_kind[kind] for kind in spec.measurements) + (self.profile_rows > 0)

    def _step(self, label: str) -> BenchProgress:
        self._done += 1
        return BenchProgress(label, self._done, self._total())

    def run(self) -> Iterator[BenchProgress | BenchDone]:
        spec = self.spec
        with tempfile.TemporaryDirectory(prefix="ttvos-bench-") as folder:
            main_kinds = [kind for kind in spec.measurements if kind != "memory"]
            if main_kinds or self.profile_rows:
                video = write_input(Path(folder) / "main", spec)
                workers = {v.name: WorkerProcess(v, spec, video) for v in spec.variants}
                try:
                    for kind in main_kinds:
                        yield from getattr(self, f"_{kind}")(workers)
                    if self.profile_rows:
                        yield from self._profile(workers[spec.variants[0].name])
                finally:
                    for process in workers.values():
                        process.close()
            if "memory" in spec.measurements:
                yield from self._memory(Path(folder))
        yield BenchDone(self.report)

    def _rounds(self) -> Iterator[bool]:
        """For each round: whether it counts (warm-up rounds do not)."""
        for round_index in range(self.spec.warmup + self.spec.repeats):
            yield round_index >= self.spec.warmup

    def _inference(self, workers: dict[str, WorkerProcess]) -> Iterator[BenchProgress]:
        for counts in self._rounds():
            for variant in self.spec.variants:
                base, overrides = self.spec.config("mcc", variant)
                answer = workers[variant.name].call("inference", base=base, overrides=overrides)
                if counts:
                    self.report.result("inference", "video", variant.name).add(answer)
                yield self._step(f"inference {variant.name}")

    def _iteration(self, workers: dict[str, WorkerProcess]) -> Iterator[BenchProgress]:
        for loss in self.spec.losses:
            for variant in self.spec.variants:
                base, overrides = self.spec.config(loss, variant)
                workers[variant.name].call(
                    "ttt_start", loss=loss, base=base, overrides=overrides, seed=self.spec.seed
                )
                yield self._step(f"{loss} first step {variant.name}")
            for counts in self._rounds():
                for variant in self.spec.variants:
                    answer = workers[variant.name].call("ttt_step")
                    if counts:
                        self.report.result("iteration", loss, variant.name).add(answer)
                    yield self._step(f"{loss} iteration {variant.name}")

    def _video(self, workers: dict[str, WorkerProcess]) -> Iterator[BenchProgress]:
        for loss in self.spec.losses:
            for counts in self._rounds():
                for variant in self.spec.variants:
                    base, overrides = self.spec.config(loss, variant)
                    answer = workers[variant.name].call(
                        "video", loss=loss, base=base, overrides=overrides, seed=self.spec.seed
                    )
                    if counts:
                        self.report.result("video", loss, variant.name).add(answer)
                    yield self._step(f"{loss} per video {variant.name}")

    def _profile(self, worker: WorkerProcess) -> Iterator[BenchProgress]:
        loss = self.spec.losses[0]
        base, overrides = self.spec.config(loss, self.spec.variants[0])
        answer = worker.call(
            "profile", loss=loss, base=base, overrides=overrides, seed=self.spec.seed, rows=self.profile_rows
        )
        self.report.profile = answer["tables"]
        yield self._step("profile")

    def _memory(self, folder: Path) -> Iterator[BenchProgress]:
        """Peak memory of one inference per video length, each (length, variant) in a new process."""
        for length in self.spec.lengths:
            spec = dataclasses.replace(self.spec, frames=length)
            video = write_input(folder / f"length{length}", spec)
            for variant in spec.variants:
                process = WorkerProcess(variant, spec, video)
                try:
                    base, overrides = spec.config("mcc", variant)
                    answer = process.call("inference", base=base, overrides=overrides)
                finally:
                    process.close()
                self.report.result("memory", f"frames={length}", variant.name).add(answer)
                yield self._step(f"memory {length} frames {variant.name}")

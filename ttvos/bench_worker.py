"""A ``ttvos bench`` worker: one process per variant, driven by JSON lines on stdin.

It runs as a script (``python worker.py``) so that a variant can use the ttvos of another source
tree (``PYTHONPATH``): it therefore imports nothing from ``ttvos.bench*`` and only the calls every
ttvos version has (``load_video``, ``segment_video``, ``TestTimeTrainer.adapt``, ``write_mask`` or,
where it exists, ``MaskWriter``, ``load_config`` / ``replace``), plus the family's network loader
that the parent names (``load_stcn`` for STCN, which every version has). Each command answers one
JSON line on the process's original stdout; everything else the libraries print goes to stderr.

Commands (``op``): ``setup``, ``inference``, ``ttt_start`` / ``ttt_step`` (one Adam step at a time,
so that the parent can alternate the variants step by step), ``video`` (a whole adaptation, then the
segmentation and its PNGs, as ``ttvos run`` does it), ``profile`` and ``quit``. Each answer holds
the seconds measured and the peak memory of the command: the peak resident set size on a CPU (the
kernel's high-water mark, reset before the command), the peak allocated memory on CUDA.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from ttvos.config import load_config, replace
from ttvos.data.io import write_mask
from ttvos.data.video import VOSVideo, load_video
from ttvos.inference.segment import segment_video
from ttvos.model.sizes import SIZES, ModelSize
from ttvos.model.standin import standin_state_dict
from ttvos.ttt.adapt import TestTimeTrainer


class Worker:
    """The state kept between commands: the network, the input video, an adaptation in progress."""

    def __init__(self) -> None:
        self.network: torch.nn.Module | None = None
        self.trainer: TestTimeTrainer | None = None
        self.video: VOSVideo | None = None
        self.device = torch.device("cpu")
        self.steps: Iterator[Any] | None = None
        self.output = Path(tempfile.mkdtemp(prefix="ttvos-bench-"))

    # -- commands -------------------------------------------------------------------------

    def setup(
        self,
        frames: list[str],
        mask: str,
        family: str,
        loader: str,
        model: str,
        weights: str | None,
        device: str,
        threads: int | None,
    ) -> dict:
        """``loader``: ``module:function`` building the network, ``(checkpoint, device, size=...)``."""
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        module, name = loader.split(":")
        load = getattr(importlib.import_module(module), name)
        checkpoint = weights if weights else _standin(SIZES[model], family)
        self.network = load(checkpoint, self.device, size=SIZES[model])
        self.trainer = TestTimeTrainer(self.network)
        self.video = VOSVideo("bench", tuple(Path(f) for f in frames), {0: Path(mask)})
        return {"torch": torch.__version__, "threads": torch.get_num_threads()}

    def inference(self, base: str, overrides: dict) -> dict:
        """Segment the whole video and write its PNGs, as ``ttvos run`` does after adapting."""
        config = replace(load_config(base), **overrides)
        assert self.trainer is not None
        self.trainer.reset()
        return self._measure(lambda: self._segment(config))

    def ttt_start(self, loss: str, base: str, overrides: dict, seed: int) -> dict:
        """Start an adaptation and take its first step (which includes the first pseudo-masks)."""
        config = replace(
            load_config(base), **{**overrides, "ttt.jump_steps": 1, "ttt.iters_per_jump": 10_000}
        )
        assert self.trainer is not None and self.video is not None
        loaded = load_video(self.video, config.inference.resolution)
        self.steps = iter(self.trainer.adapt(loaded, config, seed))
        return self.ttt_step()

    def ttt_step(self) -> dict:
        assert self.steps is not None
        steps = self.steps
        return self._measure(lambda: {"loss": next(steps).loss})

    def video_run(self, loss: str, base: str, overrides: dict, seed: int) -> dict:
        """A whole per-video adaptation with the config's schedule, then the final segmentation."""
        config = replace(load_config(base), **overrides)
        assert self.trainer is not None and self.video is not None
        self.steps = None

        def run() -> dict:
            start = time.perf_counter()
            loaded = load_video(self.video, config.inference.resolution)
            steps = sum(1 for _ in self.trainer.adapt(loaded, config, seed))
            self._sync()
            adapted = time.perf_counter()
            segmented = self._segment(config)
            return {"ttt_seconds": adapted - start, "steps": steps, **segmented}

        return self._measure(run)

    def profile(self, loss: str, base: str, overrides: dict, seed: int, rows: int) -> dict:
        """torch.profiler tables (self time) of one whole-video inference and one TTT step of ``loss``."""
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
        sort = "self_cuda_time_total" if self.device.type == "cuda" else "self_cpu_time_total"
        self.ttt_start(loss, base, overrides, seed)  # the first step: pseudo-masks, warm caches
        tables = {}
        # the step first: an inference resets the network to its pretrained, untrainable state
        for name, call in (
            (f"{loss} step", self.ttt_step),
            ("inference", lambda: self.inference(base, overrides)),
        ):
            with profile(activities=activities) as recorded:
                call()
            tables[name] = recorded.key_averages().table(sort_by=sort, row_limit=rows)
        return {"tables": tables}

    # -- helpers --------------------------------------------------------------------------

    def _segment(self, config: Any) -> dict:
        assert self.network is not None and self.video is not None
        loaded = load_video(self.video, config.inference.resolution)
        folder = Path(tempfile.mkdtemp(dir=self.output))
        start, writing, frames = time.perf_counter(), 0.0, 0
        with _mask_writer() as writer:
            for mask in segment_video(self.network, loaded, config.inference, amp=config.amp):
                written = time.perf_counter()
                writer.write(folder / f"{mask.index:05d}.png", loaded.to_file_ids(mask.labels))
                writing += time.perf_counter() - written
                frames += 1
            closing = time.perf_counter()
        writing += time.perf_counter() - closing  # the writes still queued when the last frame was done
        self._sync()
        seconds = time.perf_counter() - start
        return {
            "inference_seconds": seconds,
            "png_seconds": writing,
            "frames": frames,
            "precision": self._precision(config),
        }

    def _precision(self, config: Any) -> str:
        """The dtype the convolutions really ran in (a half dtype the device lacks falls back)."""
        try:
            from ttvos.inference.precision import autocast_dtype
        except ImportError:  # an older ttvos: amp meant float16 on CUDA only
            return "float16" if config.amp and self.device.type == "cuda" else "float32"
        dtype = autocast_dtype(config.amp, self.device)
        return "float32" if dtype is None else str(dtype).removeprefix("torch.")

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _measure(self, call: Callable[[], dict]) -> dict:
        """``call()``'s answer plus its wall time and peak memory (MB)."""
        memory_kind = _reset_peak(self.device)
        self._sync()
        start = time.perf_counter()
        answer = call()
        self._sync()
        seconds = time.perf_counter() - start
        return {**answer, "seconds": seconds, "peak_mb": _peak_mb(self.device), "memory_kind": memory_kind}


class _SerialWriter:
    """How a ttvos without ``MaskWriter`` wrote: each PNG before the next frame is segmented."""

    def write(self, path: Path, labels: Any) -> None:
        write_mask(path, labels)

    def __enter__(self) -> _SerialWriter:
        return self

    def __exit__(self, *error: object) -> None:
        return None


def _mask_writer() -> Any:
    """The variant's way of writing the masks, as its ``ttvos run`` writes them."""
    try:
        from ttvos.data.mask_writer import MaskWriter
    except ImportError:
        return _SerialWriter()
    return MaskWriter()


def _standin(size: ModelSize, family: str) -> dict[str, torch.Tensor]:
    """The family's stand-in weights; an older ttvos knows only STCN's (and no ``family`` argument),
    so that an XMem loader there fails on STCN's keys rather than running something else."""
    if "family" in inspect.signature(standin_state_dict).parameters:
        return standin_state_dict(size, family=family)
    return standin_state_dict(size)


def _reset_peak(device: torch.device) -> str:
    """Reset the peak-memory counter; say what the peak will measure."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return "cuda max allocated"
    try:  # Linux: writing 5 to clear_refs resets the resident set's high-water mark (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")
        return "peak RSS"
    except OSError:
        return "process peak RSS (not resettable here)"


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else is printed (libraries, C code) goes to stderr
    sys.stdout = sys.stderr
    worker = Worker()
    commands = {
        "setup": worker.setup,
        "inference": worker.inference,
        "ttt_start": worker.ttt_start,
        "ttt_step": worker.ttt_step,
        "video": worker.video_run,
        "profile": worker.profile,
    }
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            answer = {"ok": True, **commands[op](**request)}
        except Exception as error:  # reported to the parent, which stops with it
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()

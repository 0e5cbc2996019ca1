"""The training loop: resumable, logged, deterministic for a seed.

Output folder: ``train.yaml`` (the settings; a resumed run must match them), ``state.pt`` (network,
optimiser and random states every ``checkpoint_every`` iterations), ``log.jsonl`` (one line per
iteration: loss, lr, hard-pixel fraction, max skip, seconds) and ``model.pth`` (the trained network as
a ttvos checkpoint, loadable with ``--weights``), refreshed at every checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from ttvos.errors import UserError
from ttvos.model.checkpoint import save_checkpoint
from ttvos.model.sizes import SIZES
from ttvos.paths import write_text_atomic
from ttvos.train import sources
from ttvos.train.init import imagenet_network, scratch_network
from ttvos.train.loss import LOSSES
from ttvos.train.recipe import TrainConfig

logger = logging.getLogger(__name__)

RUN_FILE = "train.yaml"
STATE_FILE = "state.pt"
LOG_FILE = "log.jsonl"
MODEL_FILE = "model.pth"


@dataclass(frozen=True)
class TrainStep:
    """One finished iteration (``iteration`` counts from 1)."""

    iteration: int
    loss: float
    lr: float
    hard_fraction: float
    max_skip: int
    seconds: float


@dataclass(frozen=True)
class TrainRequest:
    """What ``ttvos train`` was asked: settings, seed, where the data is and where results go."""

    config: TrainConfig
    output: Path
    seed: int = 1
    data_root: Path | None = None  # davis / youtube sources
    static_folder: Path | None = None  # static-folder source

    def record(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "seed": self.seed,
            "data_root": None if self.data_root is None else str(self.data_root),
            "static_folder": None if self.static_folder is None else str(self.static_folder),
        }


def training_videos(request: TrainRequest) -> list[sources.TrainVideo]:
    """The videos of the configured source long enough for a sequence (STCN's and XMem's mix repeats
    DAVIS five times beside YouTube-VOS)."""
    videos = [video for video in _source_videos(request) if video.length >= request.config.seq_len]
    if not videos:
        raise UserError(f"source {request.config.source}: no video has {request.config.seq_len} frames")
    return videos


def _source_videos(request: TrainRequest) -> list[sources.TrainVideo]:
    config, kind = request.config, request.config.source
    if kind == "synthetic":
        return sources.synthetic_videos(config, request.seed)
    if kind == "synthetic-static":
        return sources.synthetic_static_videos(config, request.seed)
    if kind == "static-folder":
        if request.static_folder is None:
            raise UserError("source static-folder needs --static-folder")
        return sources.static_folder_videos(request.static_folder)
    if request.data_root is None:
        raise UserError(f"source {kind} needs --data-root")
    davis = sources.davis_train_videos(request.data_root) if "davis" in kind else []
    youtube = sources.youtube_train_videos(request.data_root) if "youtube" in kind else []
    return davis * (5 if youtube else 1) + youtube


class Trainer:
    """Trains one network; ``run`` yields every iteration and can be resumed after an interruption."""

    def __init__(self, request: TrainRequest, device: torch.device, *, overwrite: bool = False) -> None:
        try:
            request.config.check()
        except ValueError as error:
            raise UserError(f"training settings: {error}") from None
        self.request = request
        self.device = device
        self.output = request.output
        self._check_output(overwrite)
        self.videos = training_videos(request)
        self.network = self._initial_network().to(device)
        self.network.requires_grad_(True)
        config = request.config
        optimizer = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = optimizer(self.network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.rng = np.random.default_rng(request.seed)
        self.iteration = 0
        self._start_output(overwrite)
        self._resume()

    # -- set-up ---------------------------------------------------------------------------

    def _check_output(self, overwrite: bool) -> None:
        """A folder holds one training run: resuming with other settings is refused."""
        run_file = self.output / RUN_FILE
        if self.output.exists() and not self.output.is_dir():
            raise UserError(f"{self.output}: not a folder")
        if run_file.is_file() and not overwrite:
            try:
                previous = yaml.safe_load(run_file.read_text())
            except yaml.YAMLError:
                previous = None
            if previous != self.request.record():
                raise UserError(
                    f"{self.output}: holds a training run with other settings; "
                    "use --overwrite to start again or another --output"
                )

    def _start_output(self, overwrite: bool) -> None:
        """Write ``train.yaml`` once everything is known to work (a failed start leaves nothing)."""
        if overwrite:
            for name in (STATE_FILE, LOG_FILE, MODEL_FILE):
                (self.output / name).unlink(missing_ok=True)
        try:
            self.output.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise UserError(f"{self.output}: not a folder") from None
        write_text_atomic(self.output / RUN_FILE, yaml.safe_dump(self.request.record(), sort_keys=False))

    def _initial_network(self) -> torch.nn.Module:
        config = self.request.config
        if config.init == "imagenet":
            return imagenet_network(self.request.seed, config.model)
        return scratch_network(SIZES[config.size], self.request.seed, config.model)

    def _resume(self) -> None:
        path = self.output / STATE_FILE
        if not path.is_file():
            (self.output / LOG_FILE).unlink(missing_ok=True)
            return
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.iteration = state["iteration"]
        log = self.output / LOG_FILE
        if log.is_file():  # iterations after the checkpoint are redone: drop their lines
            lines = [
                line
                for line in log.read_text().splitlines()
                if json.loads(line)["iteration"] <= self.iteration
            ]
            write_text_atomic(log, "".join(f"{line}\n" for line in lines))
        logger.info("resuming %s at iteration %d", self.output, self.iteration)

    def _checkpoint(self) -> None:
        state = {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "iteration": self.iteration,
        }
        temporary = self.output / f".{STATE_FILE}.tmp"
        torch.save(state, temporary)
        temporary.replace(self.output / STATE_FILE)
        save_checkpoint(self.network, self.output / MODEL_FILE)

    # -- the loop -------------------------------------------------------------------------

    def step(self, batch: list[sources.TrainSequence], hard_fraction: float) -> float:
        """One optimiser step on ``batch``; returns the loss before the step.

        XMem's loss draws its memory frames and deep updates from the run's generator (after the batch).
        """
        config = self.request.config
        self.network.train(config.batch_norm == "train")
        for group in self.optimizer.param_groups:
            group["lr"] = config.lr_at(self.iteration)
        self.optimizer.zero_grad(set_to_none=True)
        batch = [
            sources.TrainSequence(s.images.to(self.device), s.masks.to(self.device), s.labels.to(self.device))
            for s in batch
        ]
        loss = LOSSES[config.model](self.network, batch, hard_fraction, config, self.rng)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def run(self) -> Iterator[TrainStep]:
        """Train up to ``iterations``, checkpointing on the way; yields after every iteration."""
        config = self.request.config
        with (self.output / LOG_FILE).open("a") as log:
            while self.iteration < config.iterations:
                started = time.perf_counter()
                max_skip = config.max_skip(self.iteration)
                hard_fraction = config.hard_fraction(self.iteration)
                lr = config.lr_at(self.iteration)
                batch = [
                    sources.draw_sequence(self.videos, config, max_skip, self.rng)
                    for _ in range(config.batch_size)
                ]
                loss = self.step(batch, hard_fraction)
                self.iteration += 1
                step = TrainStep(
                    self.iteration, loss, lr, hard_fraction, max_skip, time.perf_counter() - started
                )
                log.write(json.dumps(step.__dict__) + "\n")
                log.flush()
                if self.iteration % config.checkpoint_every == 0 or self.iteration == config.iterations:
                    self._checkpoint()
                yield step
        self.network.eval()

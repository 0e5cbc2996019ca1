"""Test-time training: losses, freezing, sequence sampling and the per-video adaptation loop."""

from ttvos.ttt.adapt import StepLog, TestTimeTrainer, video_seed
from ttvos.ttt.freezing import apply_freezing
from ttvos.ttt.losses import LOSSES, TrainingSample

__all__ = ["LOSSES", "StepLog", "TestTimeTrainer", "TrainingSample", "apply_freezing", "video_seed"]

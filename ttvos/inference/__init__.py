"""Memory bank and propagation over a video (no training, no file I/O)."""

from ttvos.inference.memory_bank import MemoryBank
from ttvos.inference.propagation import FramePrediction, InferenceCore, labels_from_prob, one_hot

__all__ = ["FramePrediction", "InferenceCore", "MemoryBank", "labels_from_prob", "one_hot"]

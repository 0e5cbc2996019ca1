"""The STCN network, its blocks and checkpoint loading (no memory management here)."""

from ttvos.model.checkpoint import CheckpointError, load_stcn
from ttvos.model.stcn import STCN, KeyFeatures, other_objects

__all__ = ["STCN", "CheckpointError", "KeyFeatures", "load_stcn", "other_objects"]

"""The three DAVIS-C levels and the ImageNet-C severities they were made with."""

from __future__ import annotations

from typing import Literal

import numpy as np

Level = Literal["low", "med", "high"]
LEVELS: tuple[Level, ...] = ("low", "med", "high")
# DAVIS-C saved ImageNet-C severities 3 / 4 / 5 as low / med / high (1 and 2 are not used).
SEVERITY: dict[Level, int] = {"low": 3, "med": 4, "high": 5}


def to_uint8(values: np.ndarray) -> np.ndarray:
    """What OpenCV's ``imwrite`` stores for a float array: rounded to nearest, ties to even
    (0.5 -> 0, 2.5 -> 2), saturated to [0, 255]. uint8 input is returned unchanged."""
    if values.dtype == np.uint8:
        return values
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)

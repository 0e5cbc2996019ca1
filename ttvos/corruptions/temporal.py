"""Motion blur as DAVIS-C made it: a temporal weighted mean, not ImageNet-C's motion blur.

Each output frame averages the last ``n`` input frames (the current one included), the oldest
weighted 1 and the newest ``k`` when ``k <= n`` frames are available (so frame 0 is unchanged):
``sum_j j * frame_j / (k (k + 1) / 2)``, accumulated and divided in float32 as the reference did.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ttvos.corruptions.levels import Level

# Frames in the window (the reference's severities 1 and 2 would have had an empty window).
MOTION_BLUR_WINDOW: dict[Level, int] = {"low": 2, "med": 3, "high": 4}


def motion_blur(frames: np.ndarray, level: Level) -> Iterator[np.ndarray]:
    """frames: T*H*W*3 uint8; yields T float32 H*W*3 frames in [0, 255], in order."""
    window = MOTION_BLUR_WINDOW[level]
    for t in range(len(frames)):
        recent = frames[max(0, t - window + 1) : t + 1]
        total = recent[0].astype(np.float32)
        for weight, frame in enumerate(recent[1:], start=2):
            total += weight * frame.astype(np.float32)
        total /= len(recent) * (len(recent) + 1) // 2
        yield total

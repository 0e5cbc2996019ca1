"""Segment a loaded video: propagation, then masks at the original size with the files' ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ttvos.data.video import LoadedVideo
from ttvos.inference.propagation import InferenceCore, labels_from_prob
from ttvos.model.stcn import STCN


@dataclass(frozen=True)
class FrameMask:
    """Final mask of frame ``index``: ``labels: H*W`` uint8 with the ids of the input files."""

    index: int
    labels: np.ndarray


def segment_video(
    network: STCN,
    video: LoadedVideo,
    *,
    top_k: int = 20,
    mem_every: int = 5,
    include_last: bool = False,
    amp: bool = False,
) -> Iterator[FrameMask]:
    """Yield the mask of every frame from the first annotated one on, in frame order."""
    core = InferenceCore(network, top_k=top_k, mem_every=mem_every, include_last=include_last, amp=amp)
    for prediction in core.propagate(video.frames, video.annotations, video.num_objects):
        labels = labels_from_prob(prediction.prob, video.frames.original_size).cpu().numpy()
        yield FrameMask(prediction.index, video.to_file_ids(labels))

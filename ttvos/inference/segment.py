"""Segment a loaded video: propagation, then one label map per frame at the original size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ttvos.config import InferenceConfig
from ttvos.data.video import LoadedVideo
from ttvos.inference.propagation import InferenceCore, labels_from_prob
from ttvos.model.stcn import STCN


@dataclass(frozen=True)
class FrameMask:
    """Mask of frame ``index``: ``labels: H*W`` uint8 contiguous object ids (0 = background).

    ``LoadedVideo.to_file_ids`` maps them back to the ids of the input files.
    """

    index: int
    labels: np.ndarray


def segment_video(
    network: STCN, video: LoadedVideo, settings: InferenceConfig | None = None, *, amp: bool = False
) -> Iterator[FrameMask]:
    """Yield the mask of every frame from the first annotated one on, in frame order."""
    settings = settings or InferenceConfig()
    core = InferenceCore(
        network,
        top_k=settings.top_k,
        mem_every=settings.mem_every,
        include_last=settings.include_last,
        amp=amp,
    )
    for prediction in core.propagate(video.frames, video.annotations, video.num_objects):
        labels = labels_from_prob(prediction.prob, video.frames.original_size).cpu().numpy()
        yield FrameMask(prediction.index, labels)

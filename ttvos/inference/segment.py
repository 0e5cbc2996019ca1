"""Segment a loaded video: propagation, then one label map per frame at the original size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from torch import nn

from ttvos.config import InferenceSettings
from ttvos.data.video import LoadedVideo
from ttvos.families import family_of
from ttvos.inference.precision import Amp
from ttvos.inference.propagation import labels_from_prob


@dataclass(frozen=True)
class FrameMask:
    """Mask of frame ``index``: ``labels: H*W`` uint8 contiguous object ids (0 = background).

    ``LoadedVideo.to_file_ids`` maps them back to the ids of the input files.
    """

    index: int
    labels: np.ndarray


def segment_video(
    network: nn.Module,
    video: LoadedVideo,
    settings: InferenceSettings | None = None,
    *,
    amp: Amp = False,
    until: int | None = None,
) -> Iterator[FrameMask]:
    """Yield the mask of every frame from the first annotated one on, in frame order.

    ``network`` is STCN or XMem: its family's engine segments the video with ``settings`` (the
    config's ``inference`` section of that model; default: the model's defaults). ``until``: stop
    after that frame; the masks up to it are those of the whole run (a frame's mask depends only on
    the frames before it), and no later frame is computed.
    """
    engine = family_of(network).engine(network, settings, amp=amp)
    for prediction in engine.propagate(video.frames, video.annotations, video.num_objects):
        labels = labels_from_prob(prediction.prob, video.frames.original_size).cpu().numpy()
        yield FrameMask(prediction.index, labels)
        if until is not None and prediction.index >= until:
            return

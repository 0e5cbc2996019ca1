"""DAVIS-C corruptions: the 14 distribution shifts of the paper's benchmark, as its generator made them.

Public API (stable names; docs/corruptions.md has the constants and the reference's quirks):

* ``corrupt_video(frames, name, level, *, seed=0, faithful=True) -> np.ndarray``: one video in
  memory, ``frames`` T*H*W*3 uint8 RGB -> T*H*W*3 uint8 RGB (the array DAVIS-C wrote to JPEG).
* ``CORRUPTIONS``: name -> :class:`Corruption`, the 14 types in DAVIS-C order;
  ``CorruptionName`` is their ``Literal``.
* ``LEVELS`` (``low``, ``med``, ``high``; ``Level``) and ``SEVERITY`` (ImageNet-C's 3, 4, 5).
* ``unavailable_reason(name) -> str | None`` and ``available_corruptions()``: style1..style4 are
  never available (a TF-Hub network; ``ttvos prepare-data davis-c`` fetches them); cartoon and
  crf_compression need the ``corrupt`` extra (OpenCV, PyAV).
* ``video_seed(seed, video, name, level)``: the per-video seed that ``ttvos corrupt`` uses.
* ``ttvos.corruptions.tree``: ``prepare_corruption(CorruptRequest) -> CorruptPlan`` and
  ``run_plan(plan, workers=...)`` (yields ``OutputWritten``): a dataset to a DAVIS-C tree,
  resumably (what ``ttvos corrupt`` runs).
"""

from ttvos.corruptions.levels import LEVELS, SEVERITY, Level
from ttvos.corruptions.registry import (
    CORRUPTIONS,
    Corruption,
    CorruptionName,
    available_corruptions,
    corrupt_video,
    unavailable_reason,
    video_seed,
)

__all__ = [
    "CORRUPTIONS",
    "LEVELS",
    "SEVERITY",
    "Corruption",
    "CorruptionName",
    "Level",
    "available_corruptions",
    "corrupt_video",
    "unavailable_reason",
    "video_seed",
]

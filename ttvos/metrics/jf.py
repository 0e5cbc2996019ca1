"""Region similarity J and boundary accuracy F, as the official DAVIS 2017 evaluation computes them.

Semi-supervised task: void pixels (255) of the ground truth become background *before* objects are
separated and are not excluded from the measures; the first and last frames are not evaluated;
objects are the ids 1..K with K the largest id of the first ground-truth frame. Per object:
Mean, Recall (> 0.5) and Decay over the frames; globally every object counts once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

BOUNDARY_THRESHOLD = 0.008  # of the image diagonal
DecayMode = Literal["intended", "official"]


def region_similarity(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Jaccard index of two boolean masks ``H*W``; 1 when both are empty."""
    union = np.count_nonzero(prediction | truth)
    if union == 0:
        return 1.0
    return np.count_nonzero(prediction & truth) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """1-pixel boundaries, offset half a pixel toward the origin (Martin's ``seg2bmap``).

    A pixel is a boundary when it differs from its east, south or south-east neighbour; the last
    row only looks east, the last column only south, and the bottom-right pixel is never one.
    """
    east = np.zeros_like(mask)
    south = np.zeros_like(mask)
    south_east = np.zeros_like(mask)
    east[:, :-1] = mask[:, 1:]
    south[:-1, :] = mask[1:, :]
    south_east[:-1, :-1] = mask[1:, 1:]
    boundary = (mask ^ east) | (mask ^ south) | (mask ^ south_east)
    boundary[-1, :] = mask[-1, :] ^ east[-1, :]
    boundary[:, -1] = mask[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_tolerance(height: int, width: int) -> int:
    """Dilation radius in pixels: ceil(0.008 x diagonal) (8 at 480x854)."""
    return math.ceil(BOUNDARY_THRESHOLD * math.hypot(height, width))


def _row_dilations(mask: np.ndarray, radius: int) -> list[np.ndarray]:
    """``rows[w]``: true where any pixel within ``w`` columns on the same row is true, w = 0..radius."""
    rows = [mask]
    current = mask.copy()
    for w in range(1, radius + 1):
        current[:, w:] |= mask[:, :-w]
        current[:, :-w] |= mask[:, w:]
        rows.append(current.copy())
    return rows


def dilate_disk(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by the disk {(dy, dx): dy^2 + dx^2 <= r^2}, nothing added from outside.

    Same result as OpenCV's ``dilate`` with ``skimage.morphology.disk(r)`` (the reference), computed
    as the union over rows dy of horizontal dilations of half-width floor(sqrt(r^2 - dy^2)):
    about 4r boolean passes over the image.
    """
    height = mask.shape[0]
    rows = _row_dilations(mask.astype(bool), radius)
    out = rows[radius].copy()
    for dy in range(1, min(radius, height - 1) + 1):
        shifted = rows[math.isqrt(radius * radius - dy * dy)]
        out[: height - dy] |= shifted[dy:]
        out[dy:] |= shifted[: height - dy]
    return out


def boundary_measure(prediction: np.ndarray, truth: np.ndarray, radius: int) -> float:
    """Boundary F-measure of two boolean masks with a tolerance of ``radius`` pixels."""
    pred_boundary, true_boundary = boundary_map(prediction), boundary_map(truth)
    n_pred, n_true = np.count_nonzero(pred_boundary), np.count_nonzero(true_boundary)
    if n_pred == 0 and n_true == 0:
        return 1.0
    if n_pred == 0 or n_true == 0:
        return 0.0  # precision or recall is 0 (the other is 1)
    precision = np.count_nonzero(pred_boundary & dilate_disk(true_boundary, radius)) / n_pred
    recall = np.count_nonzero(true_boundary & dilate_disk(pred_boundary, radius)) / n_true
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Statistics:
    """Mean, recall (fraction of frames > 0.5) and decay (first quarter minus last quarter)."""

    mean: float
    recall: float
    decay: float


def decay_bins(count: int, mode: DecayMode = "intended") -> list[int]:
    """The 5 bin edges over ``count`` evaluated frames (neighbouring bins share a frame).

    ``official`` reproduces the reference's cast of the edges to uint8, which wraps for sequences
    of more than 256 evaluated frames (no DAVIS 2017 val sequence is that long); ``intended`` keeps
    the integer edges.
    """
    edges = np.round(np.linspace(1, count, 5) + 1e-10) - 1
    return [int(e) for e in (edges.astype(np.uint8) if mode == "official" else edges.astype(np.int64))]


def statistics(values: np.ndarray, mode: DecayMode = "intended") -> Statistics:
    """Per-object statistics over the per-frame values (NaN-aware, as the reference)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        mean = float(np.nanmean(values)) if values.size else math.nan
        recall = float(np.mean(values > 0.5)) if values.size else math.nan
    edges = decay_bins(len(values), mode) if values.size else [0] * 5
    first, last = values[edges[0] : edges[1] + 1], values[edges[3] : edges[4] + 1]
    decay = _nanmean(first) - _nanmean(last)
    return Statistics(mean, recall, decay)


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if values.size and not np.isnan(values).all() else math.nan


def evaluate_object_frames(
    prediction: np.ndarray, truth: np.ndarray, num_objects: int
) -> tuple[np.ndarray, np.ndarray]:
    """J and F of objects 1..K over frames: ``prediction``, ``truth``: ``T*H*W`` ids -> two ``K*T``.

    ``truth`` must already have its void pixels turned into background.
    """
    frames, height, width = truth.shape
    radius = boundary_tolerance(height, width)
    j = np.zeros((num_objects, frames))
    f = np.zeros((num_objects, frames))
    for obj in range(1, num_objects + 1):
        for t in range(frames):
            pred_mask, true_mask = prediction[t] == obj, truth[t] == obj
            j[obj - 1, t] = region_similarity(pred_mask, true_mask)
            f[obj - 1, t] = boundary_measure(pred_mask, true_mask, radius)
    return j, f

"""Cartoon: imgaug 0.4.0's ``stylize_cartoon`` as DAVIS-C called it, on OpenCV.

Median blur, mean-shift segmentation, edges of the gray image (Laplacian for frames whose longer
side is >= 400 pixels, Canny below), removal of dense and of isolated edge blobs, edges drawn
black into the segmentation, then an HSV saturation boost. The OpenCV calls are the ones imgaug
makes, so the result is bit-identical to the reference. OpenCV is an optional dependency
(``pip install 'ttvos[corrupt]'``); it is imported when a frame is cartoonised.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ttvos.corruptions.levels import Level
from ttvos.errors import UserError

# (median blur kernel size, mean-shift size multiplier, saturation multiplier); DAVIS-C used
# edge_prevalence 0.8 and suppress_edges for every level.
CARTOON: dict[Level, tuple[int, float, float]] = {
    "low": (1, 1.0, 1.0),
    "med": (3, 1.2, 1.5),
    "high": (5, 1.5, 2.0),
}
EDGE_PREVALENCE = 0.8
# imgaug's base sizes: (spatial radius, colour radius) for small (< 400 px) and larger frames.
MEAN_SHIFT_RADII = {True: (10, 20), False: (15, 40)}
MISSING_OPENCV = "cartoon needs OpenCV: pip install 'ttvos[corrupt]' (opencv-python-headless)"


def opencv() -> ModuleType:
    """The ``cv2`` module, or a one-line error naming the extra that provides it."""
    try:
        import cv2
    except ImportError as error:
        raise UserError(MISSING_OPENCV) from error
    return cv2


def _median(cv2: ModuleType, image: np.ndarray, size: int) -> np.ndarray:
    size += 1 - size % 2  # imgaug makes even sizes odd
    return image if size <= 1 else cv2.medianBlur(image, size)


def _edges(cv2: ModuleType, segmented: np.ndarray, small: bool) -> np.ndarray:
    """Binary edge map (0 / 255) of the segmented image's gray version (converted as RGB)."""
    gray = cv2.cvtColor(segmented, cv2.COLOR_RGB2GRAY)
    if small:
        threshold = min(int(200 * (1 / EDGE_PREVALENCE)), 254)
        edges = cv2.Canny(gray, threshold, threshold)
    else:
        response = np.abs(cv2.Laplacian(gray / 255.0, cv2.CV_64F)) ** 2
        vmax = np.percentile(response, min(int(90 * (1 / EDGE_PREVALENCE)), 99))
        scaled = np.clip(np.round(np.clip(response, 0.0, vmax) / vmax * 255), 0, 255).astype(np.uint8)
        edges = _median(cv2, scaled, 3)
        edges[edges < 50] = 0
    return ((edges > 100) * 255).astype(np.uint8)


def _suppress_blobs(
    cv2: ModuleType, edges: np.ndarray, size: int, threshold: int, *, sparse: bool
) -> np.ndarray:
    """Zero the edge pixels whose ``size x size`` neighbourhood holds >= ``threshold`` edge pixels
    (``sparse``: fewer than ``threshold``)."""
    counts = cv2.filter2D(edges / 255.0, -1, np.ones((size, size), dtype=np.float32))
    out = edges.copy()
    out[counts < threshold if sparse else counts >= threshold] = 0
    return out


def cartoon(image: np.ndarray, level: Level) -> np.ndarray:
    """image: H*W*3 uint8 (taken as RGB); returns H*W*3 uint8."""
    cv2 = opencv()
    blur, segmentation, saturation = CARTOON[level]
    small = max(image.shape[:2]) < 400
    spatial, colour = MEAN_SHIFT_RADII[small]
    blurred = _median(cv2, np.ascontiguousarray(image), blur)
    segmented = cv2.pyrMeanShiftFiltering(
        blurred, sp=int(spatial * segmentation), sr=int(colour * segmentation)
    )
    edges = _edges(cv2, segmented, small)
    edges = _suppress_blobs(cv2, edges, 3, 8, sparse=False)  # dense 3x3 blobs
    edges = _suppress_blobs(cv2, edges, 5, 3, sparse=True)  # spurious few-pixel edges
    keep = np.repeat((1.0 - edges / 255.0)[..., None], 3, axis=-1)
    drawn = np.clip(np.round(segmented * keep), 0.0, 255.0).astype(np.uint8)
    if np.isclose(saturation, 1.0, atol=1e-2):
        return drawn
    hsv = cv2.cvtColor(drawn, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1].astype(np.int32) * saturation, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

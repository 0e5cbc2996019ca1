"""Static-image sequences: one image and its mask, deformed into a few frames of a pseudo-video.

STCN's first training stage (s0) learns matching from still images: each of three frames is the
same image under its own random affine transform (rotation, scale, shear; translation from random
crops), a smooth elastic warp on some frames, and a small colour jitter, all on top of a zoom and
flip shared by the sequence. ``deform_to_sequence`` does this for any image and mask (a user's
folder of stills, or a synthetic still from ``ttvos.data.scenes``); image and mask go through the
same coordinate map, so the mask stays exact (nearest neighbour) while the image is interpolated
bilinearly. Pixels from outside the image are filled with the ImageNet mean colour, as in STCN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ttvos.data.scenes import SceneParams, make_scene_video
from ttvos.data.synthetic import SyntheticVideo
from ttvos.errors import UserError

FILL = np.array([124.0, 116.0, 104.0], dtype=np.float32)  # STCN's im_mean: the ImageNet mean, 0..255
MAX_ATTEMPTS = 10  # redraws of a sequence until every object shows in frame 0
STATIC_STREAM = 4  # seed stream of the deformation (the scene itself uses streams 0..3)


@dataclass(frozen=True)
class StaticParams:
    """Random transforms of a static-image sequence (STCN's stage-0 values where it has them)."""

    sequence_scale: tuple[float, float] = (0.8, 1.5)  # zoom shared by all frames (STCN: 0.8-1.5)
    flip_prob: float = 0.5  # chance that the whole sequence is flipped left-right (STCN: 0.5)
    rotation: float = 20.0  # per-frame rotation, up to +-this many degrees (STCN: 20)
    scale: tuple[float, float] = (0.9, 1.1)  # per-frame zoom (STCN: 0.9-1.1)
    shear: float = 10.0  # per-frame horizontal shear, up to +-this many degrees (STCN: 10)
    translation: float = 0.05  # per-frame shift, up to +-this fraction of the output size
    elastic_prob: float = 0.33  # chance per frame of a smooth elastic warp (STCN: TPS on a third)
    elastic_scale: float = 0.02  # its displacement, fraction of the output's shorter side (STCN: 0.02)
    brightness: float = 0.1  # per-frame brightness jitter, factor within 1 +- this (STCN: 0.1)
    contrast: float = 0.05  # per-frame contrast jitter (STCN: 0.05)
    saturation: float = 0.05  # per-frame saturation jitter (STCN: 0.05)
    min_kept: float = 0.5  # frame 0 should show at least this fraction of each object (after zoom)


def _shear(degrees: float) -> np.ndarray:
    return np.array([[1.0, np.tan(np.radians(degrees))], [0.0, 1.0]])


def _rotation(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s], [s, c]])


def _elastic(rng: np.random.Generator, scale: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """2*h*w smooth displacement (pixels): three plane waves per axis, wavelengths about the frame's size."""
    short = min(xs.shape[1], ys.shape[0])
    field = np.zeros((2, ys.shape[0], xs.shape[1]), dtype=np.float32)
    for axis in range(2):
        for _ in range(3):
            direction = rng.uniform(0, 2 * np.pi)
            wavenumber = 2 * np.pi / (rng.uniform(0.4, 1.2) * short)
            kx, ky = wavenumber * np.cos(direction), wavenumber * np.sin(direction)
            amplitude = scale * short * rng.uniform(0.5, 1.0)
            field[axis] += np.float32(amplitude) * np.sin(
                np.float32(kx) * xs + np.float32(ky) * ys + np.float32(rng.uniform(0, 2 * np.pi))
            )
    return field


def _sample(
    image: np.ndarray, mask: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear image and nearest mask at input pixel coordinates (x, y): ``h*w*3`` float32, ``h*w``."""
    height, width = mask.shape
    padded = np.empty((height + 2, width + 2, 3), dtype=np.float32)
    padded[:] = FILL
    padded[1:-1, 1:-1] = image
    flat = padded.reshape(-1, 3)
    px, py = x + 1, y + 1  # coordinates in the padded image
    x0, y0 = np.floor(px), np.floor(py)
    wx, wy = (px - x0)[..., None], (py - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    xa, xb = np.clip(x0, 0, width + 1), np.clip(x0 + 1, 0, width + 1)
    ya, yb = np.clip(y0, 0, height + 1) * (width + 2), np.clip(y0 + 1, 0, height + 1) * (width + 2)
    top = flat.take(ya + xa, axis=0)
    top += (flat.take(ya + xb, axis=0) - top) * wx
    bottom = flat.take(yb + xa, axis=0)
    bottom += (flat.take(yb + xb, axis=0) - bottom) * wx
    nx, ny = np.floor(x + 0.5).astype(np.int64), np.floor(y + 0.5).astype(np.int64)
    inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
    labels = np.where(inside, mask[np.clip(ny, 0, height - 1), np.clip(nx, 0, width - 1)], 0)
    return top + (bottom - top) * wy, labels.astype(np.uint8)


def _jitter(rng: np.random.Generator, image: np.ndarray, p: StaticParams) -> np.ndarray:
    """Brightness, saturation and contrast factors drawn within 1 +- their parameters."""
    brightness, saturation, contrast = (
        rng.uniform(1 - a, 1 + a) for a in (p.brightness, p.saturation, p.contrast)
    )
    image = image * np.float32(brightness)
    grey = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    image = grey[..., None] + (image - grey[..., None]) * np.float32(saturation)
    mean = np.float32(grey.mean())
    return mean + (image - mean) * np.float32(contrast)


def _deform(
    rng: np.random.Generator,
    image: np.ndarray,
    mask: np.ndarray,
    size: tuple[int, int],
    zoom: float,
    flip: bool,
    p: StaticParams,
) -> tuple[np.ndarray, np.ndarray, float]:
    """One frame: the image resized to cover ``size``, then zoomed, flipped, turned, sheared, shifted
    and maybe warped about the centres of input and output. Also returns the area scale factor."""
    (in_h, in_w), (out_h, out_w) = mask.shape, size
    cover = max(out_h / in_h, out_w / in_w) * zoom
    linear = cover * np.diag([-1.0 if flip else 1.0, 1.0]) @ _rotation(rng.uniform(-p.rotation, p.rotation))
    linear = linear @ _shear(rng.uniform(-p.shear, p.shear)) * rng.uniform(*p.scale)
    slack = np.maximum(np.array([in_w, in_h]) * cover - (out_w, out_h), 0) / 2  # random-crop room
    shift = rng.uniform(-1, 1, 2) * (p.translation * np.array([out_w, out_h]) + slack)
    xs = np.arange(out_w, dtype=np.float32)[None] + np.float32(0.5)
    ys = np.arange(out_h, dtype=np.float32)[:, None] + np.float32(0.5)
    qx, qy = xs - np.float32(out_w / 2 + shift[0]), ys - np.float32(out_h / 2 + shift[1])
    if rng.uniform() < p.elastic_prob:
        field = _elastic(rng, p.elastic_scale, xs, ys)
        qx, qy = qx + field[0], qy + field[1]
    inverse = np.linalg.inv(linear).astype(np.float32)
    x = inverse[0, 0] * qx + inverse[0, 1] * qy + np.float32(in_w / 2 - 0.5)
    y = inverse[1, 0] * qx + inverse[1, 1] * qy + np.float32(in_h / 2 - 0.5)
    frame, labels = _sample(image, mask, x, y)
    return _jitter(rng, frame, p), labels, abs(float(np.linalg.det(linear)))


def _contiguous(mask: np.ndarray) -> np.ndarray:
    """Object ids renumbered 1..K in increasing order (0 stays background)."""
    ids = np.unique(mask)
    ids = ids[ids != 0]
    if len(ids) > 255:
        raise UserError(f"the mask has {len(ids)} objects; at most 255 are supported")
    table = np.zeros(int(mask.max()) + 1, dtype=np.uint8)
    table[ids] = np.arange(1, len(ids) + 1)
    return table[mask]


def deform_to_sequence(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    num_frames: int = 3,
    *,
    size: tuple[int, int] | None = None,
    params: StaticParams | None = None,
) -> SyntheticVideo:
    """A pseudo-video of ``num_frames`` deformed copies of ``image`` (``H*W*3`` uint8 RGB) and its
    ``mask`` (``H*W`` integer ids, 0 = background), each frame of ``size`` (default: the input's).

    Ids become contiguous 1..K. Frame 0 shows at least ``min_kept`` of each object (the sequence
    is redrawn up to ``MAX_ATTEMPTS`` times; objects then still missing are dropped).
    """
    p = params or StaticParams()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise UserError(f"expected an H*W*3 uint8 RGB image, got {image.dtype} of shape {image.shape}")
    if mask.shape != image.shape[:2]:
        raise UserError(f"mask size {mask.shape} differs from image size {image.shape[:2]}")
    if num_frames < 1:
        raise UserError(f"num_frames must be at least 1, got {num_frames}")
    labels = _contiguous(mask.astype(np.int64))
    count = int(labels.max())
    if count == 0:
        raise UserError("the mask has no object (all pixels are 0)")
    size = size or labels.shape
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    source = image.astype(np.float32)
    for _ in range(MAX_ATTEMPTS):
        zoom, flip = rng.uniform(*p.sequence_scale), bool(rng.uniform() < p.flip_prob)
        drawn = [_deform(rng, source, labels, size, zoom, flip, p) for _ in range(num_frames)]
        frames = np.stack([np.clip(frame + 0.5, 0, 255).astype(np.uint8) for frame, _, _ in drawn])
        masks = np.stack([labels for _, labels, _ in drawn])
        shown = np.bincount(masks[0].ravel(), minlength=count + 1)[1:]
        if (shown >= np.maximum(p.min_kept * areas * drawn[0][2], 1)).all():
            break
    if not shown.any():
        raise UserError("no object of the mask stays in view after deformation; use a larger object")
    keep = np.zeros(count + 1, dtype=np.uint8)
    keep[1:][shown > 0] = np.arange(1, int((shown > 0).sum()) + 1)
    return SyntheticVideo(frames, keep[masks])


def make_static_sequence(
    seed: int,
    *,
    height: int,
    width: int,
    num_frames: int = 3,
    num_objects: int | None = None,
    params: SceneParams | None = None,
    static_params: StaticParams | None = None,
) -> SyntheticVideo:
    """One synthetic still (a scene of ``ttvos.data.scenes`` without motion) deformed into a
    ``num_frames`` pseudo-video: the data of a static-only (s0) model. Same seed, same pixels."""
    still = make_scene_video(
        seed, num_frames=1, height=height, width=width, num_objects=num_objects, params=params
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STATIC_STREAM,)))
    return deform_to_sequence(still.frames[0], still.masks[0], rng, num_frames, params=static_params)

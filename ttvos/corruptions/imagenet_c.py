"""The ImageNet-C per-frame corruptions that DAVIS-C uses (Hendrycks & Dietterich, 2019).

Each function takes one ``H*W*3`` uint8 frame and returns what the reference function returns:
float64 values in [0, 255] (rounded to uint8 by the caller, ties to even, as OpenCV's ``imwrite``
does) or, for :func:`pixelate`, uint8. The channel order is whatever the caller passes: DAVIS-C
passed BGR frames to functions that treat them as RGB (see ``registry.corrupt_video``).

Only severities 3 / 4 / 5 are used by DAVIS-C; their constants are stored per level name.
The HSV conversions follow scikit-image's ``rgb2hsv`` / ``hsv2rgb`` operation for operation, so
that the results are bit-identical to the reference (which called scikit-image).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ttvos.corruptions.levels import Level

# x + N(0, sigma) on x = frame / 255.
GAUSSIAN_NOISE_SIGMA: dict[Level, float] = {"low": 0.18, "med": 0.26, "high": 0.38}
# (x - per-channel mean) * c + mean.
CONTRAST_FACTOR: dict[Level, float] = {"low": 0.2, "med": 0.1, "high": 0.05}
# HSV value + c.
BRIGHTNESS_SHIFT: dict[Level, float] = {"low": 0.3, "med": 0.4, "high": 0.5}
# HSV saturation * a + b.
SATURATE_AFFINE: dict[Level, tuple[float, float]] = {
    "low": (2.0, 0.0),
    "med": (5.0, 0.1),
    "high": (20.0, 0.2),
}
# Disk radius and the sigma of the Gaussian that anti-aliases the disk.
DEFOCUS_DISK: dict[Level, tuple[int, float]] = {"low": (6, 0.5), "med": (8, 0.5), "high": (10, 0.5)}
# Scale of the intermediate (downsampled) image.
PIXELATE_SCALE: dict[Level, float] = {"low": 0.4, "med": 0.3, "high": 0.25}


def gaussian_noise(image: np.ndarray, level: Level, rng: np.random.RandomState) -> np.ndarray:
    """Additive white noise; draws ``H*W*3`` normals from ``rng`` (legacy stream, like the reference)."""
    x = image / 255.0
    return np.clip(x + rng.normal(size=x.shape, scale=GAUSSIAN_NOISE_SIGMA[level]), 0, 1) * 255


def contrast(image: np.ndarray, level: Level) -> np.ndarray:
    """Pull every pixel towards the frame's per-channel mean."""
    x = image / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * CONTRAST_FACTOR[level] + means, 0, 1) * 255


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """``H*W*3`` float in [0, 1] -> HSV in [0, 1], scikit-image's formulas and tie order."""
    value = rgb.max(-1)
    delta = np.ptp(rgb, -1)
    gray = delta == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        saturation = delta / value
        hue = np.zeros_like(value)
        # Later channels win ties, as in scikit-image (blue over green over red).
        for channel, offset in ((0, 0.0), (1, 2.0), (2, 4.0)):
            idx = rgb[..., channel] == value
            nxt, prev = rgb[..., (channel + 1) % 3], rgb[..., (channel + 2) % 3]
            hue[idx] = offset + (nxt[idx] - prev[idx]) / delta[idx]
    saturation[gray] = 0.0
    hue = (hue / 6.0) % 1.0
    hue[gray] = 0.0
    hsv = np.stack([hue, saturation, value], axis=-1)
    hsv[np.isnan(hsv)] = 0
    return hsv


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsv` (scikit-image's sector formulas)."""
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    sector = np.floor(hue * 6)
    fraction = hue * 6 - sector
    p = value * (1 - saturation)
    q = value * (1 - fraction * saturation)
    t = value * (1 - (1 - fraction) * saturation)
    sector = np.stack([sector] * 3, axis=-1).astype(np.uint8) % 6
    choices = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)]
    return np.choose(sector, np.stack([np.stack(c, axis=-1) for c in choices]))


def brightness(image: np.ndarray, level: Level) -> np.ndarray:
    """Raise the HSV value (clipped to 1)."""
    hsv = rgb_to_hsv(image / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + BRIGHTNESS_SHIFT[level], 0, 1)
    return np.clip(hsv_to_rgb(hsv), 0, 1) * 255


def saturate(image: np.ndarray, level: Level) -> np.ndarray:
    """Scale and shift the HSV saturation (clipped to [0, 1])."""
    scale, shift = SATURATE_AFFINE[level]
    hsv = rgb_to_hsv(image / 255.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * scale + shift, 0, 1)
    return np.clip(hsv_to_rgb(hsv), 0, 1) * 255


def pixelate(image: np.ndarray, level: Level) -> np.ndarray:
    """PIL box downsampling to ``int(size * c)`` then box upsampling back (uint8, as the reference).

    The upsampling is BOX as in DAVIS-C's copy of ImageNet-C (bethgelab/imagecorruptions uses
    NEAREST there, which differs).
    """
    scale = PIXELATE_SCALE[level]
    picture = Image.fromarray(np.ascontiguousarray(image))
    width, height = picture.size
    small = picture.resize((int(width * scale), int(height * scale)), Image.Resampling.BOX)
    return np.asarray(small.resize((width, height), Image.Resampling.BOX))


def _gaussian_taps(size: int, sigma: float) -> np.ndarray:
    """OpenCV's ``getGaussianKernel(size, sigma, CV_32F)``: float32 exponentials, normalised."""
    x = np.arange(size) - (size - 1) * 0.5
    taps = np.exp((-0.5 / (sigma * sigma)) * x * x).astype(np.float32)
    return (taps.astype(np.float64) / taps.astype(np.float64).sum()).astype(np.float32)


def _correlate_reflect(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D correlation of each channel with an odd square ``kernel``, borders mirrored without
    repeating the edge (OpenCV's default REFLECT_101), through the FFT (float64).

    image: H*W*C float64 (H, W > kernel radius); returns H*W*C.
    """
    radius = kernel.shape[0] // 2
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    shape = padded.shape[:2]
    spectrum = np.fft.rfft2(padded, axes=(0, 1))
    # Correlation = convolution with the flipped kernel; the valid part starts at 2 * radius.
    kernel_spectrum = np.fft.rfft2(kernel[::-1, ::-1].astype(np.float64), s=shape)
    full = np.fft.irfft2(spectrum * kernel_spectrum[..., None], s=shape, axes=(0, 1))
    return full[2 * radius :, 2 * radius :][: image.shape[0], : image.shape[1]]


def defocus_kernel(level: Level) -> np.ndarray:
    """The anti-aliased disk: a 0/1 disk on a 17x17 grid (radius <= 8) or (2r+1)^2 grid, normalised,
    then blurred by a 3x3 (5x5 for the larger grid) Gaussian with sigma ``alias_blur`` as
    ``cv2.GaussianBlur`` does (separable, REFLECT_101). float32, ``K*K``.

    OpenCV's float32 SIMD arithmetic can differ from this in the last bit of a few taps, which
    moves a handful of output values (<< 0.01%) by one level; see docs/corruptions.md.
    """
    radius, alias_blur = DEFOCUS_DISK[level]
    half, taps = (8, 3) if radius <= 8 else (radius, 5)
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = np.array(xx**2 + yy**2 <= radius**2, dtype=np.float32)
    disk /= np.sum(disk)
    weights = _gaussian_taps(taps, alias_blur).astype(np.float64)
    blurred = _correlate_reflect(disk.astype(np.float64)[..., None], np.outer(weights, weights))
    return blurred[..., 0].astype(np.float32)


def defocus_blur(image: np.ndarray, level: Level) -> np.ndarray:
    """Each channel correlated with the anti-aliased disk (REFLECT_101 borders)."""
    blurred = _correlate_reflect(image / 255.0, defocus_kernel(level))
    return np.clip(blurred, 0, 1) * 255

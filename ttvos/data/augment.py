"""Random augmentations of frame sequences, with every random number drawn from a NumPy generator.

The operations are torchvision's PIL operations (the ones STCN's training and the TTT reference use:
random-resized crop, horizontal flip, colour jitter, grayscale, random affine); only the parameters are
drawn here, from a ``numpy.random.Generator``, so that a sequence depends on one seed and nothing else.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

IMAGE_FILL = (124, 116, 104)  # STCN's im_mean: fill of the pixels an affine warp uncovers

Colour = tuple[list[int], float, float, float]  # jitter order, brightness, contrast, saturation factors


def draw_colour(rng: np.random.Generator, brightness: float, contrast: float, saturation: float) -> Colour:
    """torchvision ``ColorJitter`` parameters: a random order and one factor per adjustment."""
    order = [int(i) for i in rng.permutation(3)]
    factors = [float(rng.uniform(max(0.0, 1 - v), 1 + v)) for v in (brightness, contrast, saturation)]
    return order, factors[0], factors[1], factors[2]


def draw_crop(
    rng: np.random.Generator,
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
) -> tuple[int, int, int, int]:
    """torchvision ``RandomResizedCrop`` parameters (top, left, height, width)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * float(rng.uniform(*scale))
        aspect = math.exp(float(rng.uniform(*log_ratio)))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        w, h = int(round(height * ratio[1])), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def draw_affine(rng: np.random.Generator, degrees: float, shear: float) -> tuple[float, float]:
    """torchvision ``RandomAffine(degrees, shear=shear)`` parameters: angle and x shear."""
    return float(rng.uniform(-degrees, degrees)), float(rng.uniform(-shear, shear))


def apply_affine(image: Image.Image, affine: tuple[float, float], *, is_mask: bool) -> Image.Image:
    """Rotate and shear about the centre; masks use nearest neighbour and fill with background."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    angle, shear = affine
    interpolation = InterpolationMode.NEAREST if is_mask else InterpolationMode.BICUBIC
    fill = 0 if is_mask else list(IMAGE_FILL)
    return TF.affine(image, angle, [0, 0], 1.0, [shear, 0.0], interpolation=interpolation, fill=fill)


def apply_colour(image: Image.Image, colour: Colour | None) -> Image.Image:
    """Brightness, contrast and saturation adjustments in the drawn order."""
    if colour is None:
        return image
    from torchvision.transforms import functional as TF

    order, *factors = colour
    adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation)
    for index in order:
        image = adjust[index](image, factors[index])
    return image


def apply_crop(
    image: Image.Image,
    crop: tuple[int, int, int, int],
    size: tuple[int, int],
    *,
    flip: bool,
    is_mask: bool,
) -> Image.Image:
    """Optional horizontal flip, then the crop resized to ``size`` (height, width)."""
    resample = Image.Resampling.NEAREST if is_mask else Image.Resampling.BICUBIC
    if flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    top, left, height, width = crop
    return image.crop((left, top, left + width, top + height)).resize((size[1], size[0]), resample)

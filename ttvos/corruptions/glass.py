"""Glass blur (ImageNet-C): blur, shuffle pixels locally, blur again; vectorised.

The reference shuffles with a Python double loop over the frame, ``iterations`` times: for h
from H - delta down to delta + 1, for w from W - delta down to delta + 1, it draws
``(dx, dy) = randint(-delta, delta, size=2)`` and means to swap pixel (h, w) with
(h + dy, w + dx). With numpy row views the tuple swap degenerates into a *copy*,
``x[h, w] = x[h + dy, w + dx]``: only (h, w) is written. That copy is what DAVIS-C contains.

What the sequential copy computes: when (h, w) is visited, its source either has not been visited
yet in this pass (it still holds the pass's input value) or was visited earlier - pixels are
visited in decreasing row-major index, so exactly when the source is inside the visited region
and has a larger index - and then holds the value *it* copied. Following these links
("chains", whose indices strictly increase) to their end gives each pixel's value; pointer
jumping resolves all chains at once in O(N log L). The random numbers are drawn in one call in
the reference's order, so a seeded ``RandomState`` gives the reference's pixels bit for bit.

The intended swap (``faithful=False``) permutes pixels, which has no such shortcut: it runs the
sequential loop on a flat list of pixel indices (about a second per 480p frame).
"""

from __future__ import annotations

import numpy as np

from ttvos.corruptions.levels import Level

# (sigma of the Gaussian blurs, maximum displacement delta, shuffle passes).
GLASS_BLUR: dict[Level, tuple[float, int, int]] = {
    "low": (1.0, 2, 3),
    "med": (1.1, 3, 2),
    "high": (1.5, 4, 2),
}


def gaussian_filter(image: np.ndarray, sigma: float, *, truncate: float = 4.0) -> np.ndarray:
    """scikit-image's ``gaussian(image, sigma, channel_axis=-1)`` (scipy.ndimage, mode 'nearest').

    Rows then columns, each a symmetric correlation accumulated in scipy's order (centre tap,
    then the mirrored pairs from the outermost in), so the float64 result is bit-identical.
    image: H*W*C float64; returns H*W*C.
    """
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (sigma * sigma) * offsets**2)
    weights /= weights.sum()
    out = image
    for axis in (0, 1):
        size = out.shape[axis]
        padded = np.take(out, np.clip(np.arange(-radius, size + radius), 0, size - 1), axis=axis)

        def shifted(
            offset: int, padded: np.ndarray = padded, axis: int = axis, size: int = size
        ) -> np.ndarray:
            index = [slice(None)] * padded.ndim
            index[axis] = slice(radius + offset, radius + offset + size)
            return padded[tuple(index)]

        result = shifted(0) * weights[radius]
        for offset in range(radius, 0, -1):
            result = result + (shifted(-offset) + shifted(offset)) * weights[radius - offset]
        out = result
    return out


def _visit_order(height: int, width: int, delta: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns the reference visits, in its (decreasing) order."""
    return np.arange(height - delta, delta, -1), np.arange(width - delta, delta, -1)


def draw_sources(
    height: int, width: int, delta: int, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """One pass's random draws: visited flat indices ``q`` and their sources ``q + (dy, dx)``.

    Returns two int arrays of shape ``(rows * cols,)`` in visiting order (the reference's draws).
    """
    rows, cols = _visit_order(height, width, delta)
    draws = rng.randint(-delta, delta, size=(len(rows), len(cols), 2))
    source_rows = rows[:, None] + draws[..., 1]
    source_cols = cols[None, :] + draws[..., 0]
    visited = (rows[:, None] * width + cols[None, :]).ravel()
    return visited, (source_rows * width + source_cols).ravel()


def copy_pass_sources(
    visited: np.ndarray, sources: np.ndarray, height: int, width: int, delta: int
) -> np.ndarray:
    """Where each pixel's value comes from after one pass of the reference's copy loop.

    Returns ``origin`` (``H*W`` flat indices): pixel i ends up with the pass input's pixel origin[i].
    """
    rows, cols = sources // width, sources % width
    in_region = (rows > delta) & (rows <= height - delta) & (cols > delta) & (cols <= width - delta)
    chained = in_region & (sources > visited)  # the source was visited (and overwritten) before
    parent = np.arange(height * width)
    parent[visited[chained]] = sources[chained]
    origin = np.arange(height * width)
    origin[visited] = sources  # at a chain's end, the source still holds the pass input
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            return origin[parent]
        parent = jumped


def sequential_pass_sources(
    visited: np.ndarray, sources: np.ndarray, height: int, width: int, *, swap: bool
) -> np.ndarray:
    """One pass run literally, pixel after pixel, on indices: ``swap`` the intended exchange,
    else the reference's copy. Same return value as :func:`copy_pass_sources`."""
    origin = list(range(height * width))
    if swap:
        for q, s in zip(visited.tolist(), sources.tolist(), strict=True):
            origin[q], origin[s] = origin[s], origin[q]
    else:
        for q, s in zip(visited.tolist(), sources.tolist(), strict=True):
            origin[q] = origin[s]
    return np.asarray(origin)


def glass_blur(
    image: np.ndarray, level: Level, rng: np.random.RandomState, *, faithful: bool = True
) -> np.ndarray:
    """Blur, shuffle (the reference's copy, or a real swap when not ``faithful``), blur.

    image: H*W*3 uint8; returns H*W*3 float64 in [0, 255].
    """
    sigma, delta, passes = GLASS_BLUR[level]
    height, width = image.shape[:2]
    # Truncation to uint8 here is the reference's (np.uint8 of the float).
    pixels = np.uint8(gaussian_filter(image / 255.0, sigma) * 255).reshape(height * width, -1)
    for _ in range(passes):
        visited, sources = draw_sources(height, width, delta, rng)
        if faithful:
            origin = copy_pass_sources(visited, sources, height, width, delta)
        else:
            origin = sequential_pass_sources(visited, sources, height, width, swap=True)
        pixels = pixels[origin]
    shuffled = pixels.reshape(image.shape)
    return np.clip(gaussian_filter(shuffled / 255.0, sigma), 0, 1) * 255

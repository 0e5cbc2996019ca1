"""Glass blur's vectorised shuffle against the sequential loop it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from ttvos.corruptions.glass import (
    copy_pass_sources,
    draw_sources,
    gaussian_filter,
    glass_blur,
    sequential_pass_sources,
)


def reference_loop(image: np.ndarray, delta: int, rng: np.random.RandomState) -> np.ndarray:
    """The reference's loop, literally: a tuple swap of numpy row views (which copies)."""
    x = image.copy()
    height, width = x.shape[:2]
    for h in range(height - delta, delta, -1):
        for w in range(width - delta, delta, -1):
            dx, dy = rng.randint(-delta, delta, size=(2,))
            x[h, w], x[h + dy, w + dx] = x[h + dy, w + dx], x[h, w]
    return x


@pytest.mark.parametrize(("height", "width", "delta"), [(24, 31, 2), (19, 40, 3), (30, 30, 4), (8, 9, 4)])
def test_vectorised_copy_equals_the_reference_loop(height, width, delta):
    image = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    expected = reference_loop(image, delta, np.random.RandomState(5))
    visited, sources = draw_sources(height, width, delta, np.random.RandomState(5))
    origin = copy_pass_sources(visited, sources, height, width, delta)
    assert np.array_equal(image.reshape(-1, 3)[origin].reshape(image.shape), expected)
    literal = sequential_pass_sources(visited, sources, height, width, swap=False)
    assert np.array_equal(origin, literal)


def test_true_swap_permutes_pixels_and_differs_from_the_copy():
    visited, sources = draw_sources(40, 50, 3, np.random.RandomState(0))
    swapped = sequential_pass_sources(visited, sources, 40, 50, swap=True)
    copied = copy_pass_sources(visited, sources, 40, 50, 3)
    assert np.array_equal(np.sort(swapped), np.arange(40 * 50))  # a permutation: nothing lost
    assert len(np.unique(copied)) < 40 * 50  # the copy duplicates some pixels and loses others


def test_gaussian_filter_is_a_normalised_edge_replicating_blur():
    constant = np.full((9, 11, 3), 0.25)
    assert np.allclose(gaussian_filter(constant, 1.5), 0.25)
    impulse = np.zeros((21, 21, 1))
    impulse[10, 10] = 1.0
    blurred = gaussian_filter(impulse, 1.0)
    assert blurred.sum() == pytest.approx(1.0) and blurred[10, 10] == blurred.max()
    assert np.allclose(blurred[..., 0], blurred[..., 0].T)


def test_glass_blur_is_reproducible_per_seed():
    image = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    first = glass_blur(image, "med", np.random.RandomState(3))
    assert np.array_equal(first, glass_blur(image, "med", np.random.RandomState(3)))
    assert not np.array_equal(first, glass_blur(image, "med", np.random.RandomState(4)))
    assert first.shape == image.shape and 0 <= first.min() and first.max() <= 255

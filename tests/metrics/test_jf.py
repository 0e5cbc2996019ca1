"""Properties of the measures beyond the golden cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ttvos.metrics.jf import (
    boundary_map,
    boundary_measure,
    boundary_tolerance,
    decay_bins,
    dilate_disk,
    region_similarity,
    statistics,
)


def brute_force_dilation(mask: np.ndarray, radius: int) -> np.ndarray:
    """The reference: OR of the mask shifted by every offset of skimage's disk(radius)."""
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx > radius * radius or abs(dy) >= height or abs(dx) >= width:
                continue
            shifted = np.zeros_like(mask)
            ys, xs = slice(max(dy, 0), height + min(dy, 0)), slice(max(dx, 0), width + min(dx, 0))
            yd, xd = slice(max(-dy, 0), height + min(-dy, 0)), slice(max(-dx, 0), width + min(-dx, 0))
            shifted[yd, xd] = mask[ys, xs]
            out |= shifted
    return out


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5, 8])
@pytest.mark.parametrize("shape", [(37, 53), (4, 9), (9, 3)])
def test_disk_dilation_equals_brute_force(radius, shape):
    rng = np.random.default_rng(radius)
    for density in (0.001, 0.02, 0.3):
        mask = rng.random(shape) < density
        assert np.array_equal(dilate_disk(mask, radius), brute_force_dilation(mask, radius))


def test_boundary_map_of_a_square_and_borders():
    mask = np.zeros((6, 6), dtype=bool)
    mask[2:4, 2:4] = True
    boundary = boundary_map(mask)
    assert boundary[1, 1] and boundary[1, 3] and boundary[3, 3]  # shifted toward the origin
    full = np.ones((5, 5), dtype=bool)
    assert not boundary_map(full).any()  # the image border is never a boundary


def test_tolerances():
    assert boundary_tolerance(480, 854) == 8
    assert boundary_tolerance(64, 96) == 1
    assert boundary_tolerance(240, 427) == 4


def test_empty_and_disjoint_masks():
    empty = np.zeros((10, 10), dtype=bool)
    blob = empty.copy()
    blob[2:5, 2:5] = True
    assert region_similarity(empty, empty) == 1.0 and boundary_measure(empty, empty, 1) == 1.0
    assert region_similarity(blob, empty) == 0.0 and boundary_measure(blob, empty, 1) == 0.0
    assert region_similarity(blob, blob) == 1.0 and boundary_measure(blob, blob, 1) == 1.0


def test_uint8_decay_quirk_matches_the_reference_description():
    assert decay_bins(298, "official") == [0, 74, 149, 223, 41]
    assert decay_bins(298, "intended") == [0, 74, 149, 223, 297]
    assert decay_bins(350, "official") == [0, 87, 175, 6, 93]
    values = np.linspace(1.0, 0.5, 298)
    assert math.isnan(statistics(values, "official").decay)  # the last bin is empty
    assert statistics(values, "intended").decay > 0


def test_short_sequences():
    assert statistics(np.array([0.7]), "intended").decay == 0.0
    two = statistics(np.array([1.0, 0.2]))
    assert two.mean == pytest.approx(0.6) and two.recall == 0.5

"""J&F against the official davis2017-evaluation (golden metrics: abs 1e-6, CSVs byte-exact)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ttvos.data.io import DataError
from ttvos.metrics.sequences import GroundTruth, evaluate_sequence, summarize, write_official_csvs

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def metrics_dir(golden_dir):
    return golden_dir / "metrics"


@pytest.fixture(scope="module")
def raw(metrics_dir):
    return json.loads((metrics_dir / "expected_raw.json").read_text())


@pytest.fixture(scope="module")
def scores(metrics_dir):
    truth = GroundTruth(metrics_dir / "gt")
    return [evaluate_sequence(truth, metrics_dir / "results", name) for name in truth.sequences()]


def close(a, b):
    if b is None:
        return a is None or np.isnan(a)
    return abs(a - b) <= TOLERANCE


def test_sequences_frames_sizes_and_tolerance(scores, raw):
    assert [s.name for s in scores] == list(raw["sequences"])
    for s in scores:
        expected = raw["sequences"][s.name]
        assert s.frames == expected["evaluated_frames"]
        assert (s.height, s.width) == (expected["height"], expected["width"])
        assert s.j.shape[0] == expected["n_gt_objects"]
        assert s.boundary_tolerance == expected["boundary_tolerance_px"]


def test_per_frame_j_and_f(scores, raw):
    for s in scores:
        for k, obj in raw["sequences"][s.name]["objects"].items():
            np.testing.assert_allclose(
                s.j[int(k) - 1], np.array(obj["J"], dtype=float), rtol=0, atol=TOLERANCE
            )
            np.testing.assert_allclose(
                s.f[int(k) - 1], np.array(obj["F"], dtype=float), rtol=0, atol=TOLERANCE
            )


@pytest.mark.parametrize("mode", ["intended", "official"])
def test_per_object_statistics(scores, raw, mode):
    summary = summarize(scores, mode)
    objects = {o.label: o for o in summary.objects}
    suffix = "_intended" if mode == "intended" else ""
    for name, sequence in raw["sequences"].items():
        for k, obj in sequence["objects"].items():
            ours = objects[f"{name}_{k}"]
            for measure, stats in (("J", ours.j), ("F", ours.f)):
                assert close(stats.mean, obj[f"{measure}_mean"])
                assert close(stats.recall, obj[f"{measure}_recall"])
                assert close(stats.decay, obj[f"{measure}_decay{suffix}"])


def test_global_numbers(scores, raw):
    values = summarize(scores, "official").values
    for column, expected in raw["global"].items():
        assert close(values[column], expected), column
    intended = summarize(scores, "intended").values
    for column, expected in raw["global_intended_decay"].items():
        assert close(intended[column], expected), column


def test_official_csv_files_byte_exact(scores, metrics_dir, tmp_path):
    global_csv, sequence_csv = write_official_csvs(tmp_path, summarize(scores))
    assert global_csv.name == "global_results-val.csv" and sequence_csv.name == "per-sequence_results-val.csv"
    assert global_csv.read_bytes() == (metrics_dir / "expected_global.csv").read_bytes()
    assert sequence_csv.read_bytes() == (metrics_dir / "expected_per_sequence.csv").read_bytes()


def test_extra_object_id_is_an_error_and_writes_nothing(metrics_dir, raw, tmp_path):
    case = metrics_dir / "error_cases" / "extra-id"
    assert raw["error_cases"]["extra-id"]["csv_written"] is False
    results = tmp_path / "results"
    shutil.copytree(case / "results", results)
    truth = GroundTruth(case / "gt")
    with pytest.raises(DataError, match="uses object id .* but the ground truth has"):
        evaluate_sequence(truth, results, "extra-id")
    assert not list(results.glob("*.csv"))

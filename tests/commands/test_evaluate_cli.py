"""``ttvos evaluate`` on a results tree: numbers against direct metric calls, cache, CSVs, plots, packing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.config import config_to_dict, load_config
from ttvos.data.io import write_mask
from ttvos.data.synthetic import make_synthetic_video, write_davis
from ttvos.metrics.sequences import GroundTruth, evaluate_sequence, summarize
from ttvos.metrics.tree import TreeEvaluation, plan_evaluation

from .conftest import VIDEO_NAMES, run_arguments

runner = CliRunner()
SEQUENCES = {"ant": make_synthetic_video(6, 48, 64, seed=31), "bee": make_synthetic_video(7, 48, 64, seed=32)}
CONFIGS = ("stcn", "stcn_mcc")
SEEDS = (1, 2)
SOURCES = (("davis", None, None), ("davis-c", "brightness", "low"), ("davis-c", "brightness", "med"))


def write_run(root, dataset, corruption, level, config, seed, noise):
    """A run folder as `ttvos run` leaves it: masks = ground truth with a fraction of pixels flipped."""
    parts = [dataset] + ([corruption, level] if corruption else []) + [config, f"seed{seed}"]
    run_dir = root.joinpath(*parts)
    rng = np.random.default_rng(zlib.crc32(repr(parts).encode()))
    for name, video in SEQUENCES.items():
        (run_dir / name).mkdir(parents=True)
        for t, mask in enumerate(video.masks):
            flip = rng.random(mask.shape) < noise
            noisy = np.where(flip, rng.integers(0, video.num_objects + 1, mask.shape), mask).astype(np.uint8)
            write_mask(run_dir / name / f"{t:05d}.png", noisy)
    record = {
        "dataset": dataset,
        "corruption": corruption,
        "level": level,
        "seed": seed,
        "config": config_to_dict(load_config(config)),
    }
    (run_dir / "run.yaml").write_text(yaml.safe_dump(record))
    return run_dir


@pytest.fixture()
def tree(tmp_path):
    data = tmp_path / "data"
    write_davis(data, SEQUENCES)
    results = tmp_path / "results"
    noise = {"stcn": 0.2, "stcn_mcc": 0.1}
    runs = {}
    for dataset, corruption, level in SOURCES:
        for config in CONFIGS:
            for seed in SEEDS:
                extra = {None: 0.0, "low": 0.05, "med": 0.1}[level] + 0.01 * seed
                runs[(dataset, corruption, level, config, seed)] = write_run(
                    results, dataset, corruption, level, config, seed, noise[config] + extra
                )
    return data, results, runs


def direct_jf(data, run_dir):
    truth = GroundTruth(data / "DAVIS" / "2017" / "trainval")
    return summarize([evaluate_sequence(truth, run_dir, s) for s in truth.sequences()]).values["J&F-Mean"]


def test_table_numbers_equal_direct_metric_calls(tree):
    data, results, runs = tree
    result = runner.invoke(
        app,
        ["evaluate", str(results), "--data-root", str(data), "--format", "json", "--workers", "2", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {(r["dataset"], r["corruption"], r["level"], r["config"]): r for r in report["rows"]}
    assert len(rows) == len(SOURCES) * len(CONFIGS)
    for dataset, corruption, level in SOURCES:
        baseline = [direct_jf(data, runs[(dataset, corruption, level, "stcn", s)]) for s in SEEDS]
        for config in CONFIGS:
            values = [direct_jf(data, runs[(dataset, corruption, level, config, s)]) for s in SEEDS]
            row = rows[(dataset, corruption, level, config)]
            assert row["jf"]["n"] == 2
            assert row["jf"]["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert row["jf"]["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
            if config == "stcn":
                assert row["delta"] is None
            else:
                assert row["baseline"] == "stcn"
                assert row["delta"] == pytest.approx(np.mean(values) - np.mean(baseline), abs=1e-12)
    levels = {entry["config"]: entry["levels"] for entry in report["davis_c_levels"]}
    for config in CONFIGS:
        clean = [direct_jf(data, runs[("davis", None, None, config, s)]) for s in SEEDS]
        assert levels[config]["none"]["mean"] == pytest.approx(np.mean(clean), abs=1e-12)
        low = [direct_jf(data, runs[("davis-c", "brightness", "low", config, s)]) for s in SEEDS]
        assert levels[config]["low"]["mean"] == pytest.approx(np.mean(low), abs=1e-12)
        assert levels[config]["high"]["n"] == 0


def test_official_csvs_and_cache(tree):
    data, results, runs = tree
    planned, skipped = plan_evaluation(results, data)
    assert len(planned) == 12 and not skipped
    first = TreeEvaluation(planned, workers=1)
    list(first.run())
    assert sum(o.evaluated for o in first.outcomes) == 24 and sum(o.cached for o in first.outcomes) == 0
    run_dir = runs[("davis", None, None, "stcn", 1)]
    assert (run_dir / "global_results-val.csv").read_text().startswith("J&F-Mean,J-Mean,J-Recall")
    assert (run_dir / "per-sequence_results-val.csv").read_text().splitlines()[1].startswith("ant_1,")
    again = TreeEvaluation(plan_evaluation(results, data)[0], workers=1)
    list(again.run())
    assert sum(o.evaluated for o in again.outcomes) == 0 and sum(o.cached for o in again.outcomes) == 24
    assert [o.summary.values for o in again.outcomes] == [o.summary.values for o in first.outcomes]
    write_mask(run_dir / "bee" / "00003.png", SEQUENCES["bee"].masks[3])  # a changed output
    third = TreeEvaluation(plan_evaluation(results, data)[0], workers=1)
    list(third.run())
    assert sum(o.evaluated for o in third.outcomes) == 1


def test_table_markdown_and_plot(tree, tmp_path):
    data, results, _ = tree
    plot = tmp_path / "figure.png"
    table = runner.invoke(
        app, ["evaluate", str(results), "--data-root", str(data), "--workers", "1", "--plot", str(plot)]
    )
    assert table.exit_code == 0, table.output
    assert "stcn_mcc" in table.output and "DAVIS-C: J&F (%) per corruption level" in table.output
    with Image.open(plot) as image:
        pixels = np.array(image.convert("L"))
    assert image.size[0] > 800 and pixels.std() > 10  # drawn, not blank
    markdown = runner.invoke(
        app, ["evaluate", str(results), "--data-root", str(data), "--format", "markdown", "-q"]
    )
    assert markdown.stdout.startswith(
        "| dataset | corruption | level | config | seeds | J&F | J | F | Δ J&F |"
    )


def test_plot_axes(tree):
    from ttvos.metrics import report
    from ttvos.metrics.plot import make_figure

    data, results, _ = tree
    evaluation = TreeEvaluation(plan_evaluation(results, data)[0], workers=1)
    list(evaluation.run())
    figure = make_figure(report.build_rows(evaluation.outcomes), report.davis_c_levels(evaluation.outcomes))
    by_level, by_type = figure.axes
    assert (by_level.get_xlabel(), by_level.get_ylabel()) == ("corruption level", "J&F (%)")
    assert [t.get_text() for t in by_level.get_xticklabels()] == ["none", "low", "med", "high"]
    assert (by_type.get_xlabel(), by_type.get_ylabel()) == ("corruption", "J&F (%)")
    assert {t.get_text() for t in by_type.get_legend().get_texts()} == set(CONFIGS)


def test_plain_results_folder_with_gt(golden_dir, tmp_path):
    results = tmp_path / "other-method"
    shutil.copytree(golden_dir / "metrics" / "results", results)
    result = runner.invoke(app, ["evaluate", str(results), "--gt", str(golden_dir / "metrics" / "gt"), "-q"])
    assert result.exit_code == 0, result.output
    expected = golden_dir / "metrics" / "expected_global.csv"
    assert (results / "global_results-val.csv").read_bytes() == expected.read_bytes()
    assert "73.8" in result.output


def test_missing_frame_and_wrong_size_are_one_line_errors(tree):
    data, results, runs = tree
    run_dir = runs[("davis", None, None, "stcn", 1)]
    (run_dir / "ant" / "00002.png").unlink()
    write_mask(
        runs[("davis", None, None, "stcn", 2)] / "bee" / "00001.png", np.zeros((10, 10), dtype=np.uint8)
    )
    result = runner.invoke(app, ["evaluate", str(results), "--data-root", str(data), "-q"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "ant/00002.png: prediction missing" in output
    assert "bee/00001.png: prediction is 10x10, the ground truth 64x48" in output
    assert "Traceback" not in result.output


def test_incomplete_runs_are_skipped_unless_allowed(tree):
    data, results, runs = tree
    shutil.rmtree(runs[("davis", None, None, "stcn", 1)] / "bee")
    result = runner.invoke(
        app, ["evaluate", str(results), "--data-root", str(data), "-q", "--format", "json"]
    )
    assert result.exit_code == 0
    rows = {
        (r["dataset"], r["config"]): r for r in json.loads(result.stdout)["rows"] if r["corruption"] is None
    }
    assert rows[("davis", "stcn")]["jf"]["n"] == 1
    partial = runner.invoke(
        app, ["evaluate", str(results), "--data-root", str(data), "-q", "--format", "json", "--allow-partial"]
    )
    rows = {
        (r["dataset"], r["config"]): r for r in json.loads(partial.stdout)["rows"] if r["corruption"] is None
    }
    assert rows[("davis", "stcn")]["jf"]["n"] == 2 and rows[("davis", "stcn")]["partial"]


def test_pack_youtube_run(data_root, standin_checkpoint, tmp_path):
    ran = runner.invoke(
        app,
        run_arguments(
            data_root, standin_checkpoint, tmp_path, "-d", "youtube", "-c", "stcn", "--resolution", "native"
        ),
    )
    assert ran.exit_code == 0, ran.output
    run_dir = tmp_path / "youtube" / "stcn" / "seed1"
    result = runner.invoke(app, ["evaluate", str(run_dir), "--pack"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(run_dir / "submission-youtube.zip") as archive:
        names = archive.namelist()
    assert names == [f"Annotations/{v}/{t:05d}.png" for v in VIDEO_NAMES for t in (0, 2, 4)]
    assert "youtube-vos.org" in " ".join(result.output.split())


def test_pack_refuses_incomplete_runs_unless_allowed(data_root, standin_checkpoint, tmp_path):
    ran = runner.invoke(
        app,
        run_arguments(
            data_root, standin_checkpoint, tmp_path, "-d", "mose", "-c", "stcn", "--resolution", "native"
        ),
    )
    assert ran.exit_code == 0, ran.output
    run_dir = tmp_path / "mose" / "stcn" / "seed1"
    (run_dir / "beta" / "00003.png").unlink()
    shutil.rmtree(run_dir / "gamma")
    refused = runner.invoke(app, ["evaluate", str(run_dir), "--pack"])
    message = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "2 of 3 videos are not ready: beta (4 of 5 frames), gamma (not segmented)" in message
    assert not (run_dir / "submission-mose.zip").exists()
    forced = runner.invoke(app, ["evaluate", str(run_dir), "--pack", "--allow-partial"])
    assert forced.exit_code == 0, forced.output
    assert "partial: 1 of 3 videos" in forced.output
    with zipfile.ZipFile(run_dir / "submission-mose.zip") as archive:
        assert {name.split("/")[1] for name in archive.namelist()} == {"alpha"}


def test_pack_of_a_davis_run_is_an_error(tree):
    data, results, runs = tree
    run_dir = runs[("davis", None, None, "stcn", 1)]
    result = runner.invoke(app, ["evaluate", str(run_dir), "--pack"])
    assert result.exit_code == 1
    assert "davis has public ground truth and no evaluation server" in " ".join(result.output.split())
    assert not list(run_dir.glob("*.zip"))


def test_corrupt_files_skip_their_run_and_the_others_go_on(tree):
    data, results, runs = tree
    bad_record = runs[("davis", None, None, "stcn", 1)]
    (bad_record / "run.yaml").write_text("dataset: [unclosed\n")
    bad_png = runs[("davis", None, None, "stcn", 2)] / "ant" / "00002.png"
    bad_png.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    bad_cache = runs[("davis", None, None, "stcn_mcc", 1)] / "evaluation.json"
    bad_cache.write_text('{"version": 1, "sequences": {"ant": {"fingerprint"')
    arguments = [
        "evaluate",
        str(results),
        "--data-root",
        str(data),
        "-q",
        "--workers",
        "1",
        "--format",
        "json",
    ]
    result = runner.invoke(app, arguments)
    output = "".join(result.output.split())  # Rich wraps long paths anywhere

    def said(text):
        return "".join(text.split()) in output

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert said(f"skipped {bad_record}: {bad_record}/run.yaml: unreadable run record")
    assert said(f"{bad_png}: unreadable PNG")
    assert said("unreadable cache")  # rebuilt, not a failure
    assert json.loads(bad_cache.read_text())["version"] == 1
    assert (bad_cache.parent / "global_results-val.csv").is_file()
    assert not (bad_png.parent.parent / "global_results-val.csv").exists()
    rows = {(r["dataset"], r["level"], r["config"]): r["jf"]["n"] for r in json.loads(result.stdout)["rows"]}
    assert rows[("davis", None, "stcn_mcc")] == 2 and rows[("davis-c", "low", "stcn")] == 2
    assert ("davis", None, "stcn") not in rows  # both of its runs failed


def test_nothing_evaluated_exits_non_zero(tmp_path):
    run_dir = tmp_path / "youtube" / "stcn" / "seed1"
    (run_dir / "v1").mkdir(parents=True)
    (run_dir / "run.yaml").write_text(yaml.safe_dump({"dataset": "youtube", "config": {"name": "stcn"}}))
    result = runner.invoke(app, ["evaluate", str(tmp_path), "-q"])
    assert result.exit_code == 1
    assert "".join(f"nothing in {tmp_path} could be evaluated".split()) in "".join(result.output.split())


def test_runs_with_stand_in_weights_are_marked(data_root, tmp_path):
    arguments = run_arguments(data_root, tmp_path, tmp_path / "r", "-d", "davis", "-c", "stcn")
    arguments[arguments.index("--weights") + 1] = "standin"
    assert runner.invoke(app, [*arguments, "--resolution", "native"]).exit_code == 0
    table = runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--data-root", str(data_root), "-q"])
    assert table.exit_code == 0, table.output
    assert "stand-in weights" in table.output and "untrained" in table.output
    as_json = runner.invoke(
        app, ["evaluate", str(tmp_path / "r"), "--data-root", str(data_root), "-q", "--format", "json"]
    )
    assert [row["standin"] for row in json.loads(as_json.stdout)["rows"]] == [True]
    markdown = runner.invoke(
        app, ["evaluate", str(tmp_path / "r"), "--data-root", str(data_root), "-q", "--format", "markdown"]
    )
    assert "stcn (stand-in weights, not a result)" in markdown.stdout


def test_runs_with_real_weights_are_not_marked(tree):
    data, results, _ = tree
    result = runner.invoke(app, ["evaluate", str(results), "--data-root", str(data), "-q", "--format", "csv"])
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    assert header.endswith(",standin") and all(row.endswith(",False") for row in rows)


def test_evaluate_does_not_import_torch(tree):
    """J&F needs numpy and PIL only: torch would add seconds to the command and to every worker."""
    data, results, _ = tree
    script = (
        "import sys\n"
        "from ttvos.cli import app\n"
        "try:\n"
        f"    app(['evaluate', {str(results)!r}, '--data-root', {str(data)!r}, '-q'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (results / "davis" / "stcn" / "seed1" / "global_results-val.csv").is_file()

"""ttvos bench: the options, the configs each variant runs, and whole runs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttvos.bench import BenchSpec, Variant, build_spec, named_variant
from ttvos.bench_report import BenchReport
from ttvos.cli import app
from ttvos.config import config_to_dict, load_config, replace
from ttvos.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def spec_from(**changes) -> BenchSpec:
    options = dict(
        family="stcn",
        model="tiny",
        weights=None,
        size="32x48",
        frames=4,
        objects=2,
        measure="inference",
        losses="mcc",
        variants="faithful",
        baseline=None,
        video_steps=None,
        cap=8,
        lengths="50,200",
        repeats=1,
        warmup=0,
        threads=1,
        seed=1,
        device="cpu",
    )
    return build_spec(**(options | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": "32"}, "--size 32: expected HEIGHTxWIDTH"),
        ({"size": "8x8"}, "--size must be at least 16x16"),
        ({"variants": "faithful,turbo"}, "--variants faithful,turbo: use one or more of"),
        ({"variants": "faithful,faithful"}, "names a variant twice"),
        ({"measure": "speed"}, "--measure speed: use one or more of"),
        ({"losses": "mcc,xyz"}, "--losses mcc,xyz"),
        ({"video_steps": "2"}, "--video-steps 2: expected positive integers separated by 'x'"),
        ({"lengths": "50,0"}, "--lengths 50,0"),
        (
            {"video_steps": "2x2", "variants": "faithful,fast", "measure": "video"},
            "fast variant's steps are its",
        ),
        ({"baseline": Path("/")}, "not a ttvos source tree"),
        ({"model": "huge"}, "--model huge: use full or tiny"),
    ],
)
def test_bad_options_are_one_line_errors(changes, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_from(**changes)


@pytest.mark.parametrize("model", ["full", "tiny"])
@pytest.mark.parametrize("loss", ["mcc", "ae", "ent"])
def test_each_variant_runs_the_bundled_config(model, loss):
    """The worker applies the overrides to the paper's stcn_<loss>: that must give the bundled config."""
    spec = BenchSpec(model=model)
    prefix = "tiny" if model == "tiny" else "stcn"
    for variant, name in (
        (Variant("faithful"), f"{prefix}_{loss}"),
        (Variant("fast", fast=True), f"{prefix}_{loss}_fast"),
    ):
        base, overrides = spec.config(loss, variant)
        ran = config_to_dict(replace(load_config(base), **overrides))["ttt"]
        bundled = config_to_dict(load_config(name))["ttt"]
        assert {k: v for k, v in ran.items() if k != "resolution"} == {
            k: v for k, v in bundled.items() if k != "resolution"
        }
        assert ran["resolution"] == "native"  # the network runs at the synthetic frames' size


def test_variant_settings_and_shortened_schedules():
    spec = BenchSpec(video_steps=(2, 3), variants=(Variant("faithful"), named_variant("bf16", cap=4)))
    _, overrides = spec.config("mcc", named_variant("bf16", cap=4))
    assert overrides["amp"] == "bfloat16" and (
        overrides["ttt.jump_steps"],
        overrides["ttt.iters_per_jump"],
    ) == (2, 3)
    _, capped = spec.config("mcc", named_variant("cap", cap=4))
    assert capped["inference.max_memory_frames"] == 4


def test_bench_runs_variants_side_by_side(tmp_path):
    """Inference, one iteration and one adaptation of tt-AE, with this very source tree as a baseline
    (a second engine in its own process), plus the profile tables."""
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        [
            "bench", "--model", "tiny", "--size", "32x48", "--frames", "4",
            "--measure", "inference,iteration,video", "--losses", "ae", "--variants", "faithful",
            "--baseline", str(REPO),
            "--video-steps", "1x2", "--repeats", "2", "--warmup", "0", "--threads", "1", "--device", "cpu",
            "--json", str(out), "--profile", "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ratios: faithful against baseline" in result.output and "profile: ae step" in result.output
    report = json.loads(out.read_text())
    rows = {(r["measurement"], r["case"], r["variant"]): r for r in report["rows"]}
    assert set(rows) == {
        (measurement, case, variant)
        for measurement, case in (("inference", "video"), ("iteration", "ae"), ("video", "ae"))
        for variant in ("baseline", "faithful")
    }
    for row in rows.values():
        assert (
            row["repeats"] == 2 and 0 < row["min_s"] <= row["median_s"] <= row["max_s"] and row["peak_mb"] > 0
        )
    assert rows["inference", "video", "baseline"]["speedup"] == 1.0
    assert rows["inference", "video", "faithful"]["frames_per_s"] > 0
    assert rows["video", "ae", "faithful"]["steps"] == 2
    assert "Self CPU" in report["profile"]["inference"]


def test_memory_measurement_per_length(tmp_path):
    out = tmp_path / "memory.json"
    result = CliRunner().invoke(
        app,
        [
            "bench", "--model", "tiny", "--size", "32x48", "--measure", "memory", "--lengths", "6,12",
            "--variants", "cap", "--cap", "1", "--threads", "1", "--device", "cpu",
            "--json", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "memory growth, shortest to longest video, cap1" in result.output
    report = json.loads(out.read_text())
    assert {(r["case"], r["variant"]) for r in report["rows"]} == {(f"frames={n}", "cap1") for n in (6, 12)}
    assert set(report["memory_growth"]) == {"cap1"}


# -- XMem ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "loss", "name"),
    [
        ("full", "mcc", "xmem_mcc"),
        ("full", "ae", "xmem_ae"),
        ("full", "ent", "xmem_ent"),
        ("tiny", "mcc", "tiny_xmem_mcc"),
    ],
)
def test_xmem_variants_run_the_xmem_configs(model, loss, name):
    """XMem's faithful variant is the bundled xmem_<loss> (long-term memory on, XMem's defaults), or
    tiny_xmem_<loss>; no-long-term differs from it in enable_long_term only."""
    spec = BenchSpec(family="xmem", model=model, variants=(Variant("faithful"),))
    bundled = config_to_dict(load_config(name))
    for name in ("faithful", "no-long-term"):
        base, overrides = spec.config(loss, named_variant(name, cap=8))
        ran = config_to_dict(replace(load_config(base), **overrides))
        assert ran["model"] == "xmem" and ran["inference"]["resolution"] == "native"
        expected = {**bundled["inference"], "resolution": "native"}
        if name == "no-long-term":
            assert expected["enable_long_term"] is True
            expected["enable_long_term"] = False
        assert ran["inference"] == expected
        assert {k: v for k, v in ran["ttt"].items() if k != "resolution"} == {
            k: v for k, v in bundled["ttt"].items() if k != "resolution"
        }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"family": "xmem", "variants": "faithful,cap"},
            "variant cap8: inference.max_memory_frames is not a setting of XMem",
        ),
        (
            {"family": "xmem", "model": "full", "variants": "fast"},
            "variant fast: no bundled config xmem_mcc_fast for XMem",
        ),
        (
            {"family": "xmem", "model": "tiny", "measure": "inference,iteration", "losses": "mcc,ae"},
            "variant faithful: no bundled config tiny_xmem_ae for XMem",
        ),
        (
            {"variants": "faithful,no-long-term"},
            "variant no-long-term: inference.enable_long_term is not a setting of STCN",
        ),
        ({"family": "sam"}, "--family sam: use stcn or xmem"),
        (
            {"weights": "tiny_xmem"},
            "weights 'tiny_xmem' are for model xmem, but --family is stcn: use stcn, .*"
            ", or --weights standin",
        ),
    ],
)
def test_variants_another_family_has_are_refused(changes, message):
    with pytest.raises(UserError, match=f"^{message}$"):
        spec_from(**changes)


def test_xmem_baseline_needs_a_tree_with_xmem(tmp_path):
    (tmp_path / "ttvos").mkdir()
    (tmp_path / "ttvos" / "__init__.py").write_text("")
    with pytest.raises(UserError, match=r"that ttvos has no XMem \(.*ttvos/model/xmem.py is missing\)"):
        spec_from(family="xmem", baseline=tmp_path)


def test_xmem_bench_through_the_cli(tmp_path):
    """Inference, one tt-MCC iteration and the memory study of a tiny XMem, long-term memory on and off."""
    out = tmp_path / "xmem.json"
    result = CliRunner().invoke(
        app,
        [
            "bench", "--family", "xmem", "--model", "tiny", "--size", "32x48", "--frames", "3",
            "--measure", "inference,iteration,memory", "--losses", "mcc", "--lengths", "3,4",
            "--variants", "faithful,no-long-term", "--repeats", "1", "--warmup", "0", "--threads", "1",
            "--device", "cpu", "--json", str(out), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "xmem tiny (stand-in weights); ratios: no-long-term against faithful" in result.output
    report = json.loads(out.read_text())
    assert report["spec"]["family"] == "xmem"
    cases = (("inference", "video"), ("iteration", "mcc"), ("memory", "frames=3"), ("memory", "frames=4"))
    assert {(r["measurement"], r["case"], r["variant"]) for r in report["rows"]} == {
        (measurement, case, variant)
        for measurement, case in cases
        for variant in ("faithful", "no-long-term")
    }
    assert set(report["memory_growth"]) == {"faithful", "no-long-term"}
    segmented = {
        (s["measurement"], s["case"]): s["details"]["frames"]
        for s in report["samples"]
        if "frames" in s["details"]
    }
    assert segmented == {
        ("inference", "video"): [3.0],
        ("memory", "frames=3"): [3.0],
        ("memory", "frames=4"): [4.0],
    }


def test_each_variant_is_compared_with_what_it_changes():
    """faithful against the baseline engine, fast / cap against faithful (not against the baseline)."""
    report = BenchReport(spec={"variants": ["baseline", "faithful", "fast", "cap8"]}, environment={})
    for variant, seconds, ttt in (
        ("baseline", 8.0, 6.0),
        ("faithful", 4.0, 3.0),
        ("fast", 1.0, 0.5),
        ("cap8", 2.0, 1.5),
    ):
        report.result("video", "mcc", variant).add({"seconds": seconds, "peak_mb": 100.0, "ttt_seconds": ttt})
    rows = {row["variant"]: row for row in report.rows()}
    assert {v: (r["against"], r["speedup"], r["ttt_speedup"]) for v, r in rows.items()} == {
        "baseline": ("baseline", 1.0, 1.0),
        "faithful": ("baseline", 2.0, 2.0),
        "fast": ("faithful", 4.0, 6.0),
        "cap8": ("faithful", 2.0, 2.0),
    }
    assert report.ratios_legend() == "faithful against baseline, fast against faithful, cap8 against faithful"
    alone = BenchReport(spec={"variants": ["fast", "bf16"]}, environment={})
    assert alone.reference_variant("bf16") == "fast" and alone.ratios_legend() == "bf16 against fast"

"""Accuracy and TTT time of the fast schedule against the faithful one, on the demo's shifted benchmark.

Writes the demo's generated test videos and their DAVIS-C corruptions (``ttvos.demo``), runs
``ttvos run`` for the baseline and each (faithful, fast) config pair over the seeds with the
embedded tiny model, scores everything with ``ttvos evaluate`` and prints, per config, the J&F on
the shifted benchmark (mean over videos, corruptions, levels and seeds) and per level, and the
per-video TTT wall time from the run logs. docs/performance.md reports its output.

    python benchmarks/fast_schedule.py --out /tmp/fast-schedule [--pairs demo,paper] [--jobs 2]

Two kinds of pairs: ``demo``, the tiny model's own configs (``tiny_mcc`` against
``tiny_mcc_fast``: 1x10 steps against 1x2), and ``paper``, the full-size configs
(``stcn_mcc`` against ``stcn_mcc_fast``: the paper's 10x10 against the fast schedule) run by the
tiny model (:func:`on_tiny`, about an hour on two cores). Each config runs as ``--jobs`` shards of
one thread each; a finished run is skipped when started again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from ttvos.config import load_config, replace, save_config
from ttvos.demo import DemoPlan, write_benchmark

PAIRS = {
    "demo": (("tiny_mcc", "tiny_mcc_fast"), ("tiny_ent", "tiny_ent_fast")),
    "paper": (("stcn_mcc", "stcn_mcc_fast"), ("stcn_ent", "stcn_ent_fast")),
}
BASELINE = "tiny"


def on_tiny(name: str, folder: Path) -> Path:
    """The full-size config ``name`` for the embedded tiny model, saved as ``<name>_on_tiny.yaml``.

    Same schedule and settings, with the weights and resolutions of the tiny config of its loss
    (``tiny_<loss>``) and the learning rate scaled so that the paper's config (``stcn_<loss>``,
    100 steps) gets the product of learning rate and steps that ``tiny_<loss>`` was tuned to (10
    steps): 10x for tt-MCC, 100x for tt-Ent. A fast config keeps its ratio to the paper's lr.
    """
    config = load_config(name)
    loss = config.ttt.loss
    paper, tiny = load_config(f"stcn_{loss}"), load_config(f"tiny_{loss}")
    budget = {c.name: c.ttt.lr * c.ttt.jump_steps * c.ttt.iters_per_jump for c in (paper, tiny)}
    changes = {
        "name": f"{name}_on_tiny",
        "weights": tiny.weights,
        "inference.resolution": tiny.inference.resolution,
        "ttt.resolution": tiny.ttt.resolution,
        "ttt.lr": float(f"{config.ttt.lr * budget[tiny.name] / budget[paper.name]:.4g}"),
    }
    return save_config(replace(config, **changes), folder / f"{name}_on_tiny.yaml", force=True)


def run_configs(
    plan: DemoPlan, data: Path, results: Path, configs: list[str], shard: str | None = None
) -> subprocess.Popen:
    """One ``ttvos run`` over ``configs`` (names or files), every corruption and level of ``plan``,
    every seed; ``shard``: ``I/N``, this process's share."""
    command = [sys.executable, "-m", "ttvos", "run", "--dataset", "davis-c", "--data-root", str(data)]
    command += ["--output", str(results), "--device", "cpu", "--quiet"]
    for config in configs:
        command += ["--config", config]
    if shard is not None:
        command += ["--shard", shard]
    for corruption in plan.corruptions:
        for level in plan.levels:
            command += ["--corruption", f"{corruption}/{level}"]
    for seed in plan.seeds:
        command += ["--seed", str(seed)]
    return subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})


def ttt_seconds(results: Path, config: str) -> list[float]:
    """Per-video TTT wall time of every run of ``config`` (from the video logs)."""
    logs = results.glob(f"davis-c/*/*/{config}/seed*/logs/*.json")
    return [json.loads(path.read_text())["seconds"]["ttt"] for path in logs]


def summarise(results: Path, data: Path, configs: list[str]) -> dict[str, dict[str, float]]:
    """J&F (%) per config, overall and per level (``ttvos evaluate --format json``: one row per
    corruption, level and config, the mean over seeds), and the median per-video TTT time."""
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "ttvos",
            "evaluate",
            str(results),
            "--data-root",
            str(data),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in json.loads(evaluated.stdout)["rows"]:
        if row["config"] in configs and row["dataset"] == "davis-c":
            scores[row["config"]]["all"].append(100 * row["jf"]["mean"])
            scores[row["config"]][row["level"]].append(100 * row["jf"]["mean"])
    summary = {}
    for config in configs:
        entry = {key: statistics.fmean(values) for key, values in scores[config].items()}
        seconds = ttt_seconds(results, config)
        entry["ttt_s_median"] = statistics.median(seconds) if seconds else 0.0
        entry["videos"] = len(seconds)
        summary[config] = entry
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--videos", type=int, default=DemoPlan().videos)
    parser.add_argument("--pairs", default="demo", help="comma-separated: demo, paper")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-data", action="store_true", help="reuse OUT/data")
    args = parser.parse_args()
    kinds = args.pairs.split(",")
    if not set(kinds) <= set(PAIRS) or args.jobs < 1:  # refused before anything is written
        raise SystemExit(f"--pairs {args.pairs} --jobs {args.jobs}: use {', '.join(PAIRS)} and 1 job or more")
    plan = DemoPlan(videos=args.videos, seeds=(1, 2, 3))
    data, results = args.out / "data", args.out / "results"
    if not args.skip_data:
        for _ in write_benchmark(data, plan):
            pass
    pairs = []
    for kind in kinds:
        if kind == "paper":
            folder = args.out / "configs"
            pairs += [tuple(str(on_tiny(name, folder)) for name in pair) for pair in PAIRS[kind]]
        else:
            pairs += list(PAIRS[kind])
    configs = [BASELINE] + [config for pair in pairs for config in pair]
    shards = [f"{index}/{args.jobs}" for index in range(args.jobs)]
    for config in configs:
        for process in [run_configs(plan, data, results, [config], shard) for shard in shards]:
            if process.wait() != 0:
                raise SystemExit(f"ttvos run failed ({process.args})")
    names = [Path(config).stem for config in configs]
    summary = summarise(results, data, names)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    levels = list(plan.levels)
    print(
        f"| config | J&F (shifted, {args.videos} videos x {len(plan.corruptions)} corruptions x "
        f"{len(levels)} levels x {len(plan.seeds)} seeds) | "
        + " | ".join(levels)
        + " | TTT s/video (median) |"
    )
    print("|---|---|" + "---|" * len(levels) + "---|")
    for config, entry in summary.items():
        cells = " | ".join(f"{entry.get(level, float('nan')):.2f}" for level in levels)
        print(f"| {config} | {entry.get('all', float('nan')):.2f} | {cells} | {entry['ttt_s_median']:.1f} |")
    for faithful, fast in ((Path(a).stem, Path(b).stem) for a, b in pairs):
        gap = summary[fast].get("all", 0.0) - summary[faithful].get("all", 0.0)
        speed = summary[faithful]["ttt_s_median"] / max(summary[fast]["ttt_s_median"], 1e-9)
        print(f"{fast} vs {faithful}: J&F {gap:+.2f}, TTT time {speed:.1f}x lower")


if __name__ == "__main__":
    main()

"""The paper's tables from evaluated runs: mean +- std over seeds, gains over the baseline, DAVIS-C levels."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from ttvos.data.datasets import LEVELS
from ttvos.metrics.tree import RunEvaluation

STANDIN_MARK = "stand-in weights, not a result"
LEVEL_COLUMNS = ("none", *LEVELS)  # "none" = clean DAVIS val, then the DAVIS-C levels


@dataclass(frozen=True)
class Spread:
    """Mean and standard deviation (sample, ddof=1; 0 for a single seed) over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return cls(math.nan, math.nan, 0)
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return cls(float(np.mean(values)), std, len(values))


@dataclass(frozen=True)
class Row:
    """One (dataset, corruption, level, config) line of the table; fractions, not percents."""

    dataset: str
    corruption: str | None
    level: str | None
    config: str
    loss: str
    jf: Spread
    j: Spread
    f: Spread
    delta: float | None  # J&F gain over the baseline config of the same weights (None: no baseline)
    baseline: str | None
    partial: bool
    standin: bool = False  # made with untrained stand-in weights: not a result


def build_rows(outcomes: list[RunEvaluation]) -> list[Row]:
    """Group evaluated runs by (dataset, corruption, level, config) and compare with baselines.

    The baseline of a test-time-training config is the config without adaptation (loss ``none``)
    that uses the same weights, on the same dataset, corruption and level.
    """
    groups: dict[tuple, list[RunEvaluation]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.summary is not None:
            groups[outcome.run.group].append(outcome)
    baselines = {
        (key[:3], runs[0].run.weights): key[3] for key, runs in groups.items() if runs[0].run.loss == "none"
    }
    rows = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else v for v in k)):
        runs = groups[key]
        first = runs[0].run

        def spread(column: str, runs: list[RunEvaluation] = runs) -> Spread:
            return Spread.of(r.summary.values[column] for r in runs if r.summary is not None)

        jf = spread("J&F-Mean")
        baseline = baselines.get((key[:3], first.weights)) if first.loss != "none" else None
        delta = None
        if baseline is not None:
            delta = (
                jf.mean - Spread.of(r.summary.values["J&F-Mean"] for r in groups[(*key[:3], baseline)]).mean
            )
        partial = any(r.partial for r in runs)
        standin = any(r.run.standin for r in runs)
        rows.append(
            Row(*key, first.loss, jf, spread("J-Mean"), spread("F-Mean"), delta, baseline, partial, standin)
        )
    return rows


@dataclass(frozen=True)
class LevelSummary:
    """DAVIS-C: J&F of one config per corruption level (clean DAVIS as 'none'), over seeds."""

    config: str
    levels: dict[str, Spread]
    corruptions: dict[str, int]  # level -> number of corruptions averaged


def davis_c_levels(outcomes: list[RunEvaluation]) -> list[LevelSummary]:
    """Per config and seed, J&F averaged over the corruptions of a level; then mean +- std over seeds."""
    per_seed: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)
    corruptions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for outcome in outcomes:
        run = outcome.run
        if outcome.summary is None or run.dataset not in ("davis", "davis-c"):
            continue
        level = "none" if run.dataset == "davis" else run.level or "none"
        per_seed[(run.config, level, run.seed)].append(outcome.summary.jf)
        corruptions[(run.config, level)].add(run.corruption or "clean")
    configs = sorted({config for config, _, _ in per_seed})
    summaries = []
    for config in configs:
        if not any(level != "none" for c, level, _ in per_seed if c == config):
            continue
        levels = {
            level: Spread.of(
                float(np.mean(v)) for (c, lv, _), v in per_seed.items() if c == config and lv == level
            )
            for level in LEVEL_COLUMNS
        }
        counts = {level: len(corruptions[(config, level)]) for level in LEVEL_COLUMNS}
        summaries.append(LevelSummary(config, levels, counts))
    return summaries


# ---------------------------------------------------------------------------------------------
# Text formats (the command layer renders the Rich table itself).

_HEADER = (
    "dataset",
    "corruption",
    "level",
    "config",
    "seeds",
    "J&F",
    "J&F std",
    "J",
    "J std",
    "F",
    "F std",
    "delta J&F",
    "standin",
)


def _fields(row: Row) -> list[object]:
    return [
        row.dataset,
        row.corruption or "",
        row.level or "",
        row.config,
        row.jf.n,
        row.jf.mean,
        row.jf.std,
        row.j.mean,
        row.j.std,
        row.f.mean,
        row.f.std,
        "" if row.delta is None else row.delta,
        row.standin,
    ]


def to_csv(rows: list[Row]) -> str:
    """Full-precision fractions, one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_HEADER)
    writer.writerows(_fields(row) for row in rows)
    return buffer.getvalue()


def to_json(rows: list[Row], levels: list[LevelSummary]) -> str:
    def clean(value: object) -> object:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    data = {"rows": [clean(asdict(r)) for r in rows], "davis_c_levels": [clean(asdict(s)) for s in levels]}
    return json.dumps(data, indent=1)


def percent(spread: Spread) -> str:
    """``73.8 ± 0.4`` (percent, one decimal); a single seed shows no spread."""
    if math.isnan(spread.mean):
        return "-"
    return f"{100 * spread.mean:.1f}" + (f" ± {100 * spread.std:.1f}" if spread.n > 1 else "")


def signed(delta: float | None) -> str:
    return "" if delta is None or math.isnan(delta) else f"{100 * delta:+.1f}"


def to_markdown(rows: list[Row], levels: list[LevelSummary]) -> str:
    """Tables for papers: percentages, mean ± std over seeds."""
    lines = [
        "| dataset | corruption | level | config | seeds | J&F | J | F | Δ J&F |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row.dataset,
            row.corruption or "",
            row.level or "",
            row.config
            + (" (partial)" if row.partial else "")
            + (f" ({STANDIN_MARK})" if row.standin else ""),
            str(row.jf.n),
            percent(row.jf),
            percent(row.j),
            percent(row.f),
            signed(row.delta),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if levels:
        lines += ["", "| config | " + " | ".join(LEVEL_COLUMNS) + " |", "|---|" + "---|" * len(LEVEL_COLUMNS)]
        for summary in levels:
            lines.append(
                f"| {summary.config} | "
                + " | ".join(percent(summary.levels[lv]) for lv in LEVEL_COLUMNS)
                + " |"
            )
    return "\n".join(lines) + "\n"

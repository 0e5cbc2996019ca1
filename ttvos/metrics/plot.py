"""The paper-style figure: J&F per corruption level and per corruption type, baseline vs TTT.

Needs matplotlib (``pip install 'ttvos[plot]'``); drawn headless, without pyplot.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ttvos.errors import UserError
from ttvos.metrics.report import LEVEL_COLUMNS, LevelSummary, Row, Spread

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def make_figure(rows: list[Row], levels: list[LevelSummary]) -> Figure:
    """Left: J&F (%) against the corruption level for each config (error bars: std over seeds).
    Right: J&F (%) per corruption type, averaged over levels, one bar per config."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise UserError("--plot needs matplotlib: pip install 'ttvos[plot]'") from error
    figure = Figure(figsize=(13, 4.8))  # no pyplot: headless, no global state
    by_level, by_type = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    _plot_levels(by_level, levels or _levels_from_rows(rows))
    _plot_types(by_type, rows)
    figure.tight_layout()
    return figure


def plot_results(rows: list[Row], levels: list[LevelSummary], path: Path) -> Path:
    """Draw :func:`make_figure` into a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_figure(rows, levels).savefig(path, dpi=120)
    return path


def _levels_from_rows(rows: list[Row]) -> list[LevelSummary]:
    """Without DAVIS-C runs: one point per config at level 'none' (clean data)."""
    return [
        LevelSummary(
            r.config,
            {lv: r.jf if lv == "none" else Spread(math.nan, math.nan, 0) for lv in LEVEL_COLUMNS},
            {},
        )
        for r in rows
        if r.corruption is None
    ]


def _plot_levels(axes, levels: list[LevelSummary]) -> None:
    x = np.arange(len(LEVEL_COLUMNS))
    for summary in levels:
        means = [100 * summary.levels[lv].mean for lv in LEVEL_COLUMNS]
        stds = [100 * summary.levels[lv].std for lv in LEVEL_COLUMNS]
        axes.errorbar(x, means, yerr=stds, marker="o", capsize=4, label=summary.config)
    axes.set_xticks(x, LEVEL_COLUMNS)
    axes.set_xlabel("corruption level")
    axes.set_ylabel("J&F (%)")
    axes.set_title("J&F per corruption level")
    axes.grid(alpha=0.3)
    if levels:
        axes.legend()


def _plot_types(axes, rows: list[Row]) -> None:
    per_type: dict[str, dict[str, list[Spread]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        per_type[row.config][row.corruption or "clean"].append(row.jf)
    types = sorted({t for by_config in per_type.values() for t in by_config}, key=lambda t: (t != "clean", t))
    configs = sorted(per_type)
    width = 0.8 / max(len(configs), 1)
    for i, config in enumerate(configs):
        means, errors = [], []
        for corruption in types:
            spreads = per_type[config].get(corruption, [])
            means.append(100 * np.mean([s.mean for s in spreads]) if spreads else np.nan)
            errors.append(100 * np.mean([s.std for s in spreads]) if spreads else 0.0)
        axes.bar(np.arange(len(types)) + i * width, means, width, yerr=errors, capsize=2, label=config)
    axes.set_xticks(np.arange(len(types)) + width * (len(configs) - 1) / 2, types, rotation=45, ha="right")
    axes.set_xlabel("corruption")
    axes.set_ylabel("J&F (%)")
    axes.set_title("J&F per corruption type (mean over levels)")
    axes.grid(alpha=0.3, axis="y")
    if configs:
        axes.legend()

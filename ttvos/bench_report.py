"""Results of ``ttvos bench``: samples per (measurement, case, variant), statistics, ratios, JSON."""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttvos.paths import write_text_atomic


@dataclass
class Result:
    """The repeats of one measurement of one variant: wall times (s) and peak memory (MB).

    ``case``: what was measured within the measurement (a loss, a video length); ``details``: the
    other numbers each repeat reported (frames, PNG seconds, TTT seconds...), as lists.
    """

    measurement: str
    case: str
    variant: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    details: dict[str, list[float]] = field(default_factory=dict)
    precision: str | None = None  # the dtype the segmentation ran in (amp may fall back)

    def add(self, answer: dict[str, Any]) -> None:
        self.seconds.append(float(answer["seconds"]))
        self.peak_mb.append(float(answer["peak_mb"]))
        self.precision = answer.get("precision", self.precision)
        for key, value in answer.items():
            if key not in ("seconds", "peak_mb", "ok") and isinstance(value, int | float):
                self.details.setdefault(key, []).append(float(value))

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)

    def detail(self, key: str) -> float | None:
        values = self.details.get(key)
        return statistics.median(values) if values else None


@dataclass
class BenchReport:
    """Everything one ``ttvos bench`` invocation measured; ratios are against :meth:`reference_variant`."""

    spec: dict[str, Any]
    environment: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    profile: dict[str, str] = field(default_factory=dict)

    def result(self, measurement: str, case: str, variant: str) -> Result:
        for result in self.results:
            if (result.measurement, result.case, result.variant) == (measurement, case, variant):
                return result
        created = Result(measurement, case, variant)
        self.results.append(created)
        return created

    def reference_variant(self, variant: str) -> str:
        """The variant ``variant`` is compared with: the one it changes. The faithful settings are
        compared with the baseline engine (issue 12's engine ratio), a schedule, precision or memory
        variant with the faithful settings (its own ratio, whether a baseline ran or not)."""
        variants = self.spec["variants"]
        if variant == "faithful" and "baseline" in variants:
            return "baseline"
        if variant not in ("faithful", "baseline") and "faithful" in variants:
            return "faithful"
        return variants[0]

    def reference(self, result: Result) -> Result | None:
        """The reference variant's result of the same measurement and case."""
        key = (result.measurement, result.case, self.reference_variant(result.variant))
        return next((r for r in self.results if (r.measurement, r.case, r.variant) == key), None)

    def ratios_legend(self) -> str:
        """What the ratios compare, e.g. ``faithful against baseline, fast against faithful``."""
        pairs = [(v, self.reference_variant(v)) for v in self.spec["variants"]]
        compared = [f"{variant} against {reference}" for variant, reference in pairs if variant != reference]
        return ", ".join(compared) or f"against {self.spec['variants'][0]}"

    def rows(self) -> list[dict[str, Any]]:
        """One row per result: statistics, the speed-up and the memory ratio against the reference."""
        rows = []
        for result in self.results:
            if not result.seconds:
                continue
            reference = self.reference(result)
            row: dict[str, Any] = {
                "measurement": result.measurement,
                "case": result.case,
                "variant": result.variant,
                "median_s": result.median,
                "min_s": min(result.seconds),
                "max_s": max(result.seconds),
                "repeats": len(result.seconds),
                "peak_mb": result.peak,
                "against": reference.variant if reference else None,
                "speedup": reference.median / result.median if reference else None,
                "memory_ratio": result.peak / reference.peak if reference else None,
            }
            if result.precision is not None:
                row["precision"] = result.precision
            frames = result.detail("frames")
            if result.measurement in ("inference", "memory") and frames:
                row["frames_per_s"] = frames / result.median
            for key in ("png_seconds", "ttt_seconds", "inference_seconds", "steps"):
                if result.detail(key) is not None:
                    row[key] = result.detail(key)
            ttt, reference_ttt = (
                result.detail("ttt_seconds"),
                reference.detail("ttt_seconds") if reference else None,
            )
            if ttt and reference_ttt:
                row["ttt_speedup"] = reference_ttt / ttt  # the adaptation alone (item 4 of issue 12)
            rows.append(row)
        return rows

    def memory_growth(self) -> dict[str, float]:
        """Per variant: peak memory at the longest video over the shortest one, minus 1 (memory study)."""
        growth = {}
        for variant in self.spec["variants"]:
            peaks = {
                int(r.case.split("=")[1]): r.peak
                for r in self.results
                if r.measurement == "memory" and r.variant == variant and r.peak_mb
            }
            if len(peaks) > 1:
                growth[variant] = peaks[max(peaks)] / peaks[min(peaks)] - 1
        return growth

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "environment": self.environment,
            "rows": self.rows(),
            "memory_growth": self.memory_growth(),
            "samples": [dataclasses.asdict(r) for r in self.results],
            "profile": self.profile,
        }

    def write_json(self, path: Path) -> Path:
        return write_text_atomic(path, json.dumps(self.to_json(), indent=1, default=str))

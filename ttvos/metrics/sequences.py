"""Evaluating folders of palette PNGs against a DAVIS-layout ground truth; the official CSV files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ttvos.data.io import VOID, DataError
from ttvos.metrics.jf import DecayMode, Statistics, boundary_tolerance, evaluate_object_frames, statistics
from ttvos.paths import write_text_atomic

GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


@dataclass(frozen=True)
class GroundTruth:
    """A DAVIS-layout root: ``Annotations/480p/<seq>/*.png`` and ``ImageSets/2017/<set>.txt``."""

    root: Path
    set_name: str = "val"

    @property
    def annotations(self) -> Path:
        return self.root / "Annotations" / "480p"

    def sequences(self) -> list[str]:
        """The split's sequences, in file order (the official order of the CSV rows)."""
        path = self.root / "ImageSets" / "2017" / f"{self.set_name}.txt"
        if not path.is_file():
            raise DataError(f"{path}: split file not found; --gt must be a DAVIS root (with ImageSets/2017)")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    def frames(self, sequence: str) -> list[Path]:
        files = sorted((self.annotations / sequence).glob("*.png"))
        if not files:
            raise DataError(f"{self.annotations / sequence}: no ground-truth PNGs for this sequence")
        return files


@dataclass
class SequenceScores:
    """Per-frame J and F (``K*T``) of one sequence's objects over its evaluated frames."""

    name: str
    frames: list[str]
    j: np.ndarray
    f: np.ndarray
    height: int
    width: int

    @property
    def boundary_tolerance(self) -> int:
        return boundary_tolerance(self.height, self.width)


def read_ids(path: Path) -> np.ndarray:
    """Object ids of an indexed (or grayscale) PNG, as ``np.array(Image.open(path))`` reads them."""
    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L"):
                raise DataError(f"{path}: mode {image.mode!r}, expected an indexed PNG of object ids")
            return np.array(image)
    except FileNotFoundError as error:
        raise DataError(
            f"{path}: prediction missing (the official evaluation stops at a missing frame)"
        ) from error
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:  # PIL's kinds of broken
        raise DataError(f"{path}: unreadable PNG ({error}); write it again (rerun that video)") from error


def evaluate_sequence(truth: GroundTruth, predictions: Path, sequence: str) -> SequenceScores:
    """J and F of one sequence: first and last ground-truth frames excluded, void -> background."""
    files = truth.frames(sequence)
    first = read_ids(files[0])
    num_objects = int(np.where(first == VOID, 0, first).max())
    evaluated = files[1:-1]
    height, width = first.shape
    true_ids = np.zeros((len(evaluated), height, width), dtype=np.uint8)
    pred_ids = np.zeros_like(true_ids)
    for t, gt_file in enumerate(evaluated):
        gt = read_ids(gt_file)
        true_ids[t] = np.where(gt == VOID, 0, gt)
        prediction_file = predictions / sequence / gt_file.name
        prediction = read_ids(prediction_file)
        if prediction.shape != gt.shape:
            raise DataError(
                f"{prediction_file}: prediction is {prediction.shape[1]}x{prediction.shape[0]}, "
                f"the ground truth {gt.shape[1]}x{gt.shape[0]}; write masks at the original frame size"
            )
        pred_ids[t] = prediction
    if evaluated and int(pred_ids.max()) > num_objects:
        raise DataError(
            f"{predictions / sequence}: prediction uses object id {int(pred_ids.max())} but the ground truth "
            f"has {num_objects} objects (the official evaluation stops here and writes no results)"
        )
    j, f = evaluate_object_frames(pred_ids, true_ids, num_objects)
    return SequenceScores(sequence, [p.stem for p in evaluated], j, f, height, width)


@dataclass(frozen=True)
class ObjectSummary:
    """Statistics of one object (``<sequence>_<id>`` as the official per-sequence CSV names it)."""

    label: str
    j: Statistics
    f: Statistics


@dataclass(frozen=True)
class Summary:
    """Every object's statistics and the global means (objects, not sequences, are averaged)."""

    objects: list[ObjectSummary]
    values: dict[str, float]  # GLOBAL_COLUMNS -> value

    @property
    def jf(self) -> float:
        return self.values["J&F-Mean"]


def summarize(sequences: Sequence[SequenceScores], mode: DecayMode = "intended") -> Summary:
    """Per-object statistics and the global row of the official ``global_results`` CSV."""
    objects = [
        ObjectSummary(f"{s.name}_{k + 1}", statistics(s.j[k], mode), statistics(s.f[k], mode))
        for s in sequences
        for k in range(s.j.shape[0])
    ]

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan  # plain mean: one NaN makes it NaN

    j_mean, f_mean = mean([o.j.mean for o in objects]), mean([o.f.mean for o in objects])
    values = {
        "J&F-Mean": (j_mean + f_mean) / 2,
        "J-Mean": j_mean,
        "J-Recall": mean([o.j.recall for o in objects]),
        "J-Decay": mean([o.j.decay for o in objects]),
        "F-Mean": f_mean,
        "F-Recall": mean([o.f.recall for o in objects]),
        "F-Decay": mean([o.f.decay for o in objects]),
    }
    return Summary(objects, values)


def _csv_number(value: float) -> str:
    """pandas' ``float_format='%.3f'``: three decimals, an empty field for NaN."""
    return "" if math.isnan(value) else f"{value:.3f}"


def write_official_csvs(folder: Path, summary: Summary, set_name: str = "val") -> tuple[Path, Path]:
    """``global_results-<set>.csv`` and ``per-sequence_results-<set>.csv``, byte for byte as
    ``evaluation_method.py`` writes them."""
    global_path = folder / f"global_results-{set_name}.csv"
    sequence_path = folder / f"per-sequence_results-{set_name}.csv"
    row = ",".join(_csv_number(summary.values[c]) for c in GLOBAL_COLUMNS)
    write_text_atomic(global_path, f"{','.join(GLOBAL_COLUMNS)}\n{row}\n")
    lines = [f"{o.label},{_csv_number(o.j.mean)},{_csv_number(o.f.mean)}\n" for o in summary.objects]
    write_text_atomic(sequence_path, "Sequence,J-Mean,F-Mean\n" + "".join(lines))
    return global_path, sequence_path

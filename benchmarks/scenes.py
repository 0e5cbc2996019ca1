"""Contact sheet and generation speed of the synthetic training data (``ttvos.data.scenes``).

Draws a few scene videos (frames, then the masks over the frames) and a few static-image sequences
into one PNG, and times the generator: a 12-frame 64x96 video and a 480x854 frame.

    python benchmarks/scenes.py [--out docs/images/scenes.png] [--videos 4] [--frames 24] [--seed 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ttvos.data.io import davis_palette
from ttvos.data.scenes import make_scene_video
from ttvos.data.static import make_static_sequence
from ttvos.data.synthetic import SyntheticVideo

CELL = (96, 160)  # height, width of one picture on the sheet
COLUMNS = 6  # frames shown per video


def overlay(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The frame with each object tinted in its DAVIS palette colour and outlined."""
    palette = np.frombuffer(davis_palette(), dtype=np.uint8).reshape(256, 3)
    out = frame.astype(np.float32)
    tinted = mask > 0
    out[tinted] = 0.45 * out[tinted] + 0.55 * palette[mask[tinted]]
    edge = np.zeros_like(tinted)
    edge[1:] |= mask[1:] != mask[:-1]
    edge[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    out[edge] = 255
    return out.astype(np.uint8)


def sheet_rows(video: SyntheticVideo, columns: int) -> list[list[np.ndarray]]:
    """Two rows of pictures: frames spread over the video, then their masks over the frames."""
    picks = np.linspace(0, len(video.frames) - 1, min(columns, len(video.frames))).round().astype(int)
    return [
        [video.frames[t] for t in picks],
        [overlay(video.frames[t], video.masks[t]) for t in picks],
    ]


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], columns: int) -> Image.Image:
    """Label on the left, then ``columns`` pictures per row."""
    label_width, gap = 100, 4
    height, width = CELL
    sheet = Image.new("RGB", (label_width + columns * (width + gap), len(rows) * (height + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (label, pictures) in enumerate(rows):
        top = row * (height + gap)
        draw.text((4, top + height // 2 - 6), label, fill="black")
        for column, picture in enumerate(pictures):
            sheet.paste(Image.fromarray(picture), (label_width + column * (width + gap), top))
    return sheet


def timed(function, repeats: int) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of a call, best of ``repeats`` (CPU time is the steadier
    figure on a shared machine)."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall * 1000, cpu * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/scenes.png"))
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--static", type=int, default=2, help="static-image sequences on the sheet")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    height, width = CELL
    rows: list[tuple[str, list[np.ndarray]]] = []
    for seed in range(args.seed, args.seed + args.videos):
        video = make_scene_video(seed, num_frames=args.frames, height=height, width=width)
        frames, masks = sheet_rows(video, COLUMNS)
        rows += [(f"video seed {seed}", frames), (f"{video.num_objects} object(s)", masks)]
    for seed in range(args.seed, args.seed + args.static):
        sequence = make_static_sequence(seed, height=height, width=width, num_frames=COLUMNS // 2)
        frames, masks = sheet_rows(sequence, COLUMNS // 2)
        rows.append((f"static seed {seed}", frames + masks))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(rows, COLUMNS).save(args.out, optimize=True)
    print(f"wrote {args.out}")

    cases = {
        "scene video, 12 frames 64x96": (
            lambda: [make_scene_video(s, num_frames=12, height=64, width=96) for s in range(10)],
            10,
        ),
        "scene video, per 480x854 frame": (
            lambda: make_scene_video(0, num_frames=4, height=480, width=854),
            4,
        ),
        "static sequence, 3 frames 64x96": (
            lambda: [make_static_sequence(s, height=64, width=96) for s in range(10)],
            10,
        ),
    }
    for name, (function, count) in cases.items():
        wall, cpu = timed(function, 3)
        print(f"{name}: {wall / count:.1f} ms wall, {cpu / count:.1f} ms CPU")


if __name__ == "__main__":
    main()

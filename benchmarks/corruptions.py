"""Speed of the DAVIS-C corruptions, glass blur against the reference's loop, and a contact sheet.

Times ``corrupt_video`` on a 480x854 clip (seconds per frame, every type and level), then glass
blur against a straightforward per-pixel loop written like the reference's (one ``randint`` and
one row-view tuple swap per pixel), measured in the same run. The loop is timed on ``--loop-rows``
rows and scaled to the frame (its cost is linear in the pixels; ``--loop-rows 0`` times the whole
frame: minutes). With ``--sheet`` it also draws one frame under every type at the three levels.

    python benchmarks/corruptions.py [--frames 3] [--loop-rows 40] [--input FRAME_FOLDER]
    python benchmarks/corruptions.py --sheet docs/images/corruptions.jpg --frames 4 --skip-timing

Without ``--input`` the clip is a generated 480x854 synthetic video (ttvos.data.synthetic).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ttvos.corruptions import LEVELS, available_corruptions, corrupt_video
from ttvos.corruptions.glass import GLASS_BLUR, gaussian_filter
from ttvos.data.io import list_frames, read_frame
from ttvos.data.synthetic import make_synthetic_video

CELL = (120, 213)  # height, width of one picture on the sheet


def load_clip(folder: Path | None, frames: int) -> np.ndarray:
    """T*H*W*3 uint8 RGB: the first ``frames`` frames of ``folder``, or a synthetic 480p video."""
    if folder is None:
        return make_synthetic_video(frames, 480, 854, num_objects=3, seed=4).frames
    return np.stack([read_frame(p) for p in list_frames(folder)[:frames]])


def time_types(clip: np.ndarray) -> dict[str, list[float]]:
    """Seconds per frame of every available type at each level."""
    table = {}
    for name in available_corruptions():
        row = []
        for level in LEVELS:
            started = time.perf_counter()
            corrupt_video(clip, name, level, seed=0)
            row.append((time.perf_counter() - started) / len(clip))
        table[name] = row
        print(f"{name:16s}" + "".join(f"{s:9.3f}" for s in row), flush=True)
    return table


def reference_shuffle(x: np.ndarray, delta: int, rows: int, rng: np.random.RandomState) -> None:
    """The reference's per-pixel loop (copy quirk included) over the first ``rows`` visited rows."""
    height, width = x.shape[:2]
    for h in list(range(height - delta, delta, -1))[:rows]:
        for w in range(width - delta, delta, -1):
            dx, dy = rng.randint(-delta, delta, size=(2,))
            x[h, w], x[h + dy, w + dx] = x[h + dy, w + dx], x[h, w]


def glass_against_loop(frame: np.ndarray, loop_rows: int) -> None:
    """Whole glass blur per 480p frame: ours against blur + reference loop + blur, per level."""
    height = frame.shape[0]
    timed = f"{loop_rows} rows, scaled" if loop_rows > 0 else "every row"
    print(f"\nglass blur per {frame.shape[1]}x{height} frame (the reference's loop timed on {timed})")
    print(f"{'level':6s}{'ours s':>9s}{'loop s':>10s}{'speed-up':>10s}")
    speedups = []
    for level in LEVELS:
        sigma, delta, passes = GLASS_BLUR[level]
        started = time.perf_counter()
        corrupt_video(frame[None], "glass_blur", level, seed=0)
        ours = time.perf_counter() - started

        started = time.perf_counter()
        blurred = np.uint8(gaussian_filter(frame / 255.0, sigma) * 255)
        gaussian_filter(blurred / 255.0, sigma)
        blurs = time.perf_counter() - started
        visited_rows = height - 2 * delta
        rows = visited_rows if loop_rows <= 0 else min(loop_rows, visited_rows)
        started = time.perf_counter()
        reference_shuffle(blurred, delta, rows, np.random.RandomState(0))
        loop = blurs + (time.perf_counter() - started) * visited_rows / rows * passes
        speedups.append(loop / ours)
        print(f"{level:6s}{ours:9.3f}{loop:10.1f}{loop / ours:9.0f}x", flush=True)
    print(f"glass blur speed-up: {min(speedups):.0f}x to {max(speedups):.0f}x")


def contact_sheet(clip: np.ndarray, path: Path) -> None:
    """One frame (the clip's last, so motion blur has a full window) under every type and level."""
    names = available_corruptions()
    height, width = CELL
    label, gap = 120, 4
    sheet = Image.new("RGB", (label + 4 * (width + gap), len(names) * (height + gap) + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(("clean", *LEVELS)):
        draw.text((label + column * (width + gap) + 4, 2), title, fill="black")

    def paste(picture: np.ndarray, row: int, column: int) -> None:
        small = Image.fromarray(picture).resize((width, height), Image.Resampling.BOX)
        sheet.paste(small, (label + column * (width + gap), 16 + row * (height + gap)))

    for row, name in enumerate(names):
        draw.text((4, 16 + row * (height + gap) + height // 2 - 6), name, fill="black")
        paste(clip[-1], row, 0)
        for column, level in enumerate(LEVELS, start=1):
            paste(corrupt_video(clip, name, level, seed=0)[-1], row, column)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, **({"quality": 85} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    print(f"contact sheet: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, help="a folder of 480p frames (default: a synthetic video)")
    parser.add_argument("--frames", type=int, default=3, help="frames in the timed clip")
    parser.add_argument(
        "--loop-rows", type=int, default=40, help="rows of the reference loop to time; 0: all"
    )
    parser.add_argument("--sheet", type=Path, help="also draw the contact sheet into this PNG")
    parser.add_argument("--skip-timing", action="store_true", help="only draw the sheet")
    args = parser.parse_args()
    clip = load_clip(args.input, args.frames)
    if not args.skip_timing:
        print(f"seconds per {clip.shape[2]}x{clip.shape[1]} frame ({len(clip)} frames)")
        print(f"{'type':16s}" + "".join(f"{level:>9s}" for level in LEVELS))
        time_types(clip)
        glass_against_loop(clip[0], args.loop_rows)
    if args.sheet:
        contact_sheet(clip, args.sheet)


if __name__ == "__main__":
    main()

"""Zips for the evaluation servers of benchmarks without public ground truth."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ttvos.errors import UserError
from ttvos.records import RunRecord, read_video_stamp


@dataclass(frozen=True)
class Server:
    """Where a benchmark's results are uploaded and how the zip is laid out."""

    prefix: str  # folder inside the zip that holds <video>/<frame>.png
    where: str | None  # None: the benchmark has public ground truth, there is nothing to upload


SERVERS: dict[str, Server] = {
    "youtube": Server(
        "Annotations/",
        "the YouTube-VOS 2018 validation server (CodaLab), linked from https://youtube-vos.org",
    ),
    "mose": Server(
        "Annotations/", "the MOSE validation server (CodaLab), linked from https://henghuiding.github.io/MOSE"
    ),
    "davis-testdev": Server(
        "", "the DAVIS 2017 test-dev server (CodaLab), linked from https://davischallenge.org"
    ),
    "davis": Server("", None),
    "davis-c": Server("", None),
    "folder": Server("", "your own evaluation"),
}


def unready_videos(run_dir: Path, record: RunRecord) -> dict[str, str]:
    """The videos of the run that a submission would miss or get wrong, with the reason."""
    settings = record.settings_digest()
    problems = {}
    for video in record.videos:
        stamp = read_video_stamp(run_dir, video)
        frames = len(list((run_dir / video).glob("*.png")))
        if not (run_dir / video).is_dir():
            problems[video] = "not segmented"
        elif stamp is None:
            problems[video] = "no log"
        elif stamp.settings != settings:
            problems[video] = "made with other settings than run.yaml's"
        elif frames != stamp.outputs:
            problems[video] = f"{frames} of {stamp.outputs} frames"
    return problems


def pack_run(run_dir: Path, record: RunRecord, *, allow_partial: bool = False) -> tuple[Path, int]:
    """Zip a run for its benchmark's server; refuse an incomplete run unless ``allow_partial``.

    Returns the archive and the number of videos in it."""
    if SERVERS[record.dataset].where is None:
        raise UserError(
            f"{run_dir}: {record.dataset} has public ground truth and no evaluation server; "
            f"use `ttvos evaluate {run_dir}`"
        )
    if not record.videos:
        raise UserError(
            f"{run_dir}/run.yaml does not list the benchmark's videos (written by an older ttvos), so a "
            "complete submission cannot be checked; rerun `ttvos run` with the same options"
        )
    problems = unready_videos(run_dir, record)
    if problems and not allow_partial:
        shown = ", ".join(f"{video} ({why})" for video, why in list(problems.items())[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UserError(
            f"{run_dir}: {len(problems)} of {len(record.videos)} videos are not ready: {shown}{more}; "
            "finish the run (rerun `ttvos run`) or pack anyway with --allow-partial"
        )
    videos = [video for video in record.videos if video not in problems]
    destination = run_dir / f"submission-{record.dataset}.zip"
    return pack(run_dir, record.dataset, videos, destination), len(videos)


def pack(run_dir: Path, dataset: str, videos: list[str], destination: Path) -> Path:
    """Zip the videos' PNG folders of a run directory in the server's layout (nothing else)."""
    if not videos:
        raise UserError(f"{run_dir}: no video folders to pack")
    server = SERVERS[dataset]
    temporary = destination.with_name(f".{destination.name}.partial")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for video in videos:
            for png in sorted((run_dir / video).glob("*.png")):
                archive.write(png, f"{server.prefix}{video}/{png.name}")
    temporary.replace(destination)
    return destination

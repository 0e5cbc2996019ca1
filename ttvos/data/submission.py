"""Zips for the evaluation servers of benchmarks without public ground truth."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ttvos.errors import UserError


@dataclass(frozen=True)
class Server:
    """Where a benchmark's results are uploaded and how the zip is laid out."""

    prefix: str  # folder inside the zip that holds <video>/<frame>.png
    where: str


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
    "davis": Server("", "nowhere: DAVIS val has public ground truth, use `ttvos evaluate` instead"),
    "davis-c": Server("", "nowhere: DAVIS-C uses DAVIS val ground truth, use `ttvos evaluate` instead"),
    "folder": Server("", "your own evaluation"),
}


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

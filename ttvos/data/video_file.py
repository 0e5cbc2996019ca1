"""Decoding a video file into numbered PNG frames once, so they can be re-read lazily.

Needs PyAV (``pip install 'ttvos[video]'``); frame folders need nothing extra.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from ttvos.data.io import DataError, list_frames


def extract_frames(video: Path, folder: Path) -> list[Path]:
    """Decode every frame of ``video`` to ``folder/%05d.png`` (lossless); reuse a finished folder."""
    if folder.is_dir():
        return list_frames(folder)
    try:
        import av
    except ImportError as error:
        raise DataError(f"{video}: reading video files needs PyAV: pip install 'ttvos[video]'") from error
    partial = folder.with_name(f".partial-{folder.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with av.open(str(video)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(partial / f"{index:05d}.png")
    except (av.error.FFmpegError, OSError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"{video}: cannot decode the video ({error})") from error
    partial.rename(folder)
    return list_frames(folder)

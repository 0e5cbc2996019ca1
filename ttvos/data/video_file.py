"""Decoding a video file into numbered PNG frames once, so they can be re-read lazily.

Needs PyAV (``pip install 'ttvos[video]'``); frame folders need nothing extra.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from PIL import Image

from ttvos.data.io import DataError, list_frames


def decoded_folder(video: Path, cache: Path) -> Path:
    """``cache/<stem>-<key>``: the key follows the file's identity (absolute path, size, modification
    time), so a file replaced under the same name is decoded again instead of reusing old frames."""
    try:
        stat = video.stat()
    except OSError as error:
        raise DataError(f"{video}: cannot read the video ({error.strerror})") from None
    identity = f"{video.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return cache / f"{video.stem}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def extract_frames(video: Path, cache: Path) -> list[Path]:
    """Decode every frame of ``video`` to ``decoded_folder(video, cache)/%05d.png`` (lossless); reuse a
    finished folder and remove the frames decoded from earlier versions of the file."""
    folder = decoded_folder(video, cache)
    if folder.is_dir():
        return list_frames(folder)
    try:
        import av
    except ImportError as error:
        raise DataError(f"{video}: reading video files needs PyAV: pip install 'ttvos[video]'") from error
    older = re.compile(re.escape(video.stem) + r"-[0-9a-f]{12}")
    for stale in cache.glob("*") if cache.is_dir() else []:
        if older.fullmatch(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    partial = folder.with_name(f".partial-{folder.name}.{os.getpid()}")  # shards may decode it too
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with av.open(str(video)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(partial / f"{index:05d}.png")
    except (av.error.FFmpegError, OSError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"{video}: cannot decode the video ({error})") from error
    try:
        partial.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
        shutil.rmtree(partial, ignore_errors=True)  # another process finished the same file first
    return list_frames(folder)

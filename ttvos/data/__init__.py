"""Frames, masks and benchmark layouts on disk."""

from ttvos.data.io import DataError, davis_palette, read_frame, read_mask, write_mask
from ttvos.data.video import LoadedVideo, VOSVideo, load_video

__all__ = [
    "DataError",
    "LoadedVideo",
    "VOSVideo",
    "davis_palette",
    "load_video",
    "read_frame",
    "read_mask",
    "write_mask",
]

"""crf_compression: DAVIS-C's ffmpeg chain, run through PyAV's bundled codecs (no system ffmpeg).

The reference ran, for each video (frames as ``.jpg``, 24 fps):

1. ``ffmpeg -framerate 24 -i <frames>/*.jpg out.mp4``: libx264, CRF 23, preset medium, on the
   JPEGs' own full-range YCbCr 4:2:0 (``yuvj420p``; no ``-pix_fmt`` was given);
2. ``ffmpeg -i out.mp4 -vcodec libx265 -crf C out2.mp4``, C = 40 / 45 / 50, preset medium;
3. ``ffmpeg -i out2.mp4 -qscale:v 2 %05d.jpg``: every decoded frame written by ffmpeg's MJPEG
   encoder at quality scale 2; these JPEGs are the DAVIS-C frames.

Here the frames come in as RGB arrays and are converted to full-range YCbCr 4:2:0 with the JPEG
(JFIF) matrix, which is what the source JPEGs hold; frame types are left to the encoders, as
ffmpeg does (a decoded frame's picture type would otherwise force the next encoder's choices).
Odd frame sizes (which libx264 refuses for 4:2:0) and sides under 64 pixels are padded by
repeating the last row / column for the two video encodes and cropped back before the MJPEG
step; DAVIS frames (854x480) are encoded as they are. The exact bits depend on the
x264 / x265 builds; the statistics match the reference within the tolerances of
``shared/golden/corrupt/README.md``.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ttvos.corruptions.levels import Level

if TYPE_CHECKING:
    import av

CRF: dict[Level, int] = {"low": 40, "med": 45, "high": 50}
X264_OPTIONS = {"crf": "23", "preset": "medium"}
FRAME_RATE = 24
MJPEG_QSCALE = 2
_QP2LAMBDA = 118  # ffmpeg's FF_QP2LAMBDA: -qscale:v q sets global_quality = q * 118
# Smaller frames are padded up to this for the two video encodes: the bundled libx265 corrupts
# memory on some tiny sizes (32x48, say); 4:2:0 also needs even sides.
MIN_CODED_SIDE = 64
REQUIRED_CODECS = ("libx264", "libx265", "h264", "hevc", "mjpeg")
# JFIF (full-range BT.601) RGB -> YCbCr rows.
_JFIF = np.array(
    [[0.299, 0.587, 0.114], [-0.168735892, -0.331264108, 0.5], [0.5, -0.418687589, -0.081312411]]
)


def codecs_problem() -> str | None:
    """Why crf_compression cannot run here (PyAV or a codec missing), or None."""
    try:
        import av
    except ImportError:
        return "crf_compression needs PyAV: pip install 'ttvos[corrupt]'"
    missing = [name for name in REQUIRED_CODECS if name not in av.codecs_available]
    if missing:
        return f"crf_compression needs a PyAV build with {', '.join(missing)} (PyPI's av wheels have them)"
    return None


def _to_yuvj420p(rgb: np.ndarray) -> av.VideoFrame:
    """H*W*3 uint8 RGB (H, W even) -> a full-range 4:2:0 frame, chroma averaged over 2x2 blocks."""
    ycbcr = rgb.astype(np.float64) @ _JFIF.T + (0.0, 128.0, 128.0)
    height, width = rgb.shape[:2]
    chroma = ycbcr[..., 1:].reshape(height // 2, 2, width // 2, 2, 2).mean(axis=(1, 3))
    planes = [ycbcr[..., 0], chroma[..., 0], chroma[..., 1]]
    return _frame_from_planes(*[np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in planes])


def _frame_from_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> av.VideoFrame:
    import av

    frame = av.VideoFrame(y.shape[1], y.shape[0], "yuvj420p")
    for plane, values in zip(frame.planes, (y, u, v), strict=True):
        rows = np.zeros((plane.height, plane.line_size), dtype=np.uint8)
        rows[:, : values.shape[1]] = values[: plane.height]
        plane.update(rows)
    return frame


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    ]


def _encode(frames: list[av.VideoFrame], codec: str, options: dict[str, str]) -> tuple[list, bytes | None]:
    """Encode at 24 fps; returns the packets and the codec's extradata (its stream headers)."""
    import av

    context = av.CodecContext.create(codec, "w")
    context.width, context.height = frames[0].width, frames[0].height
    context.pix_fmt = "yuvj420p"
    context.time_base = Fraction(1, FRAME_RATE)
    context.framerate = Fraction(FRAME_RATE)
    context.options = options
    packets = []
    for index, frame in enumerate(frames):
        frame.pts, frame.time_base = index, context.time_base
        frame.pict_type = av.video.frame.PictureType.NONE  # let the encoder choose, as ffmpeg does
        packets += context.encode(frame)
    packets += context.encode(None)
    return packets, context.extradata


def _decode(packets: list, codec: str, extradata: bytes | None) -> list[av.VideoFrame]:
    import av

    context = av.CodecContext.create(codec, "r")
    if extradata:
        context.extradata = extradata
    frames = []
    for packet in packets:
        frames += context.decode(packet)
    return frames + context.decode(None)


def crf_compression_jpegs(frames: np.ndarray, level: Level) -> list[bytes]:
    """frames: T*H*W*3 uint8 RGB; returns the T JPEG files the reference chain writes."""
    import av

    height, width = frames.shape[1:3]
    rows, cols = (max(MIN_CODED_SIDE, size + size % 2) - size for size in (height, width))
    padded = np.pad(frames, ((0, 0), (0, rows), (0, cols), (0, 0)), mode="edge")
    h264, headers = _encode([_to_yuvj420p(f) for f in padded], "libx264", X264_OPTIONS)
    x265_options = {"crf": str(CRF[level]), "preset": "medium", "x265-params": "log-level=error"}
    hevc, headers = _encode(_decode(h264, "h264", headers), "libx265", x265_options)
    decoded = _decode(hevc, "hevc", headers)
    if len(decoded) != len(frames):
        raise RuntimeError(f"crf_compression: {len(frames)} frames in, {len(decoded)} out of the codecs")
    chroma = ((height + 1) // 2, (width + 1) // 2)
    cropped = []
    for frame in decoded:
        y, u, v = _planes(frame)
        cropped.append(
            _frame_from_planes(y[:height, :width], u[: chroma[0], : chroma[1]], v[: chroma[0], : chroma[1]])
        )
    mjpeg = av.CodecContext.create("mjpeg", "w")
    mjpeg.width, mjpeg.height, mjpeg.pix_fmt = width, height, "yuvj420p"
    mjpeg.time_base = Fraction(1, FRAME_RATE)
    mjpeg.flags |= av.codec.context.Flags.qscale
    mjpeg.global_quality = MJPEG_QSCALE * _QP2LAMBDA
    jpegs = []
    for index, frame in enumerate(cropped):
        frame.pts = index
        jpegs += [bytes(packet) for packet in mjpeg.encode(frame)]
    jpegs += [bytes(packet) for packet in mjpeg.encode(None)]
    return jpegs


def decode_jpeg(data: bytes) -> np.ndarray:
    """A JPEG file's bytes -> H*W*3 uint8 RGB (libjpeg through PIL, as OpenCV decodes it)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image.convert("RGB"))


def crf_compression(frames: np.ndarray, level: Level) -> np.ndarray:
    """frames: T*H*W*3 uint8 RGB; returns the T decoded DAVIS-C frames, T*H*W*3 uint8 RGB."""
    return np.stack([decode_jpeg(data) for data in crf_compression_jpegs(frames, level)])

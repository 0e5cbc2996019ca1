"""Masks drawn over frames, and contact sheets of them: how a person checks a segmentation by eye."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ttvos.data.io import davis_palette

_GAP = 4  # pixels between cells
_TITLE = 14  # height of a title row / width per character of a row label (PIL's default font)


def overlay(frame: np.ndarray, labels: np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """``frame: H*W*3`` uint8, ``labels: H*W`` ids -> the frame with each object tinted in its DAVIS
    palette colour and outlined (background untouched)."""
    colours = np.frombuffer(davis_palette(), dtype=np.uint8).reshape(-1, 3).astype(np.float32)
    tinted = frame.astype(np.float32)
    inside = labels > 0
    tinted[inside] = (1 - alpha) * tinted[inside] + alpha * colours[labels[inside]]
    edge = np.zeros_like(inside)
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    tinted[edge] = 255
    return tinted.round().astype(np.uint8)


def contact_sheet(
    cells: Sequence[Sequence[np.ndarray]], column_titles: Sequence[str], row_titles: Sequence[str]
) -> Image.Image:
    """A grid of equally sized ``H*W*3`` images with a title over each column and beside each row."""
    height, width = cells[0][0].shape[:2]
    label_width = _TITLE // 2 * max((len(t) for t in row_titles), default=0) + _GAP
    sheet = Image.new(
        "RGB",
        (label_width + len(column_titles) * (width + _GAP), _TITLE + len(cells) * (height + _GAP)),
        "white",
    )
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(column_titles):
        draw.text((label_width + column * (width + _GAP), 1), title, fill="black")
    for row, (title, images) in enumerate(zip(row_titles, cells, strict=True)):
        top = _TITLE + row * (height + _GAP)
        draw.text((1, top + height // 2 - _TITLE // 2), title, fill="black")
        for column, image in enumerate(images):
            sheet.paste(Image.fromarray(image), (label_width + column * (width + _GAP), top))
    return sheet

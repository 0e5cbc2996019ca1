"""Frame and mask files: palette PNGs exactly as the official evaluation reads them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ttvos.data.io import (
    DataError,
    davis_palette,
    list_frames,
    read_frame,
    read_mask,
    resize_frame,
    resize_labels,
    working_size,
    write_mask,
)


def test_palette_is_the_davis_palette(golden_dir):
    with Image.open(
        golden_dir / "metrics" / "gt" / "Annotations" / "480p" / "three-objs" / "00000.png"
    ) as image:
        assert bytes(image.getpalette()) == davis_palette()
    assert davis_palette()[:12] == bytes([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0])


def test_write_then_read_round_trip(tmp_path):
    labels = np.random.default_rng(0).integers(0, 7, size=(30, 40), dtype=np.uint8)
    write_mask(tmp_path / "m.png", labels)
    with Image.open(tmp_path / "m.png") as image:
        assert image.mode == "P"
        assert np.array_equal(np.array(image), labels)  # what davis2017-evaluation reads
    assert np.array_equal(read_mask(tmp_path / "m.png"), labels)


def test_read_mask_uses_indices_not_colours(golden_dir):
    mask = read_mask(golden_dir / "metrics" / "gt" / "Annotations" / "480p" / "three-objs" / "00000.png")
    assert set(np.unique(mask)) == {0, 1, 2, 3, 255}


def test_rgb_mask_is_refused_with_one_line(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(DataError) as info:
        read_mask(tmp_path / "rgb.png")
    assert "rgb.png: mask has image mode 'RGB'" in str(info.value) and "\n" not in str(info.value)


def test_binary_mask_only_when_allowed(tmp_path):
    Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).save(tmp_path / "bin.png")
    with pytest.raises(DataError):
        read_mask(tmp_path / "bin.png")
    assert read_mask(tmp_path / "bin.png", allow_binary=True).tolist() == [[0, 1], [1, 0]]


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="frame not found"):
        read_frame(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="bad.jpg: unreadable image"):
        read_frame(tmp_path / "bad.jpg")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .jpg/.png frames"):
        list_frames(tmp_path / "empty")


@pytest.mark.parametrize(
    ("size", "resolution", "expected"),
    [
        ((480, 854), 480, (480, 854)),
        ((720, 1280), 480, (480, 853)),
        ((1280, 720), 480, (853, 480)),
        ((64, 96), None, (64, 96)),
        ((64, 96), 32, (32, 48)),
    ],
)
def test_working_size_follows_torchvision_resize(size, resolution, expected):
    assert working_size(*size, resolution) == expected


def test_resizing_frames_and_labels():
    image = torch.randn(3, 72, 128)
    assert resize_frame(image, (72, 128)) is image
    assert resize_frame(image, (36, 64)).shape == (3, 36, 64)
    labels = torch.zeros(4, 4, dtype=torch.long)
    labels[:2, :2] = 3
    assert resize_labels(labels, (8, 8))[:4, :4].eq(3).all()


@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize(("shape", "resolution"), [((3, 72, 128), 48), ((3, 60, 44), 30), ((3, 40, 64), 80)])
def test_resize_frame_equals_torchvision_resize(shape, resolution, antialias):
    """Down- and upscaling; antialias=False is torchvision <= 0.16's tensor Resize (the paper's)."""
    from torchvision.transforms import InterpolationMode, Resize

    image = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    reference = Resize(resolution, interpolation=InterpolationMode.BICUBIC, antialias=antialias)(image)
    ours = resize_frame(image, working_size(*shape[1:], resolution), antialias=antialias)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)


def test_antialias_changes_downscaled_frames():
    image = torch.randn(3, 72, 128, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(resize_frame(image, (36, 64)), resize_frame(image, (36, 64), antialias=True))

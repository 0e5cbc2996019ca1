"""Loading a video: label mapping, lazy frames and one-line errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ttvos.data.io import DataError, write_mask
from ttvos.data.synthetic import make_synthetic_video, save_video
from ttvos.data.video import VOSVideo, load_video


@pytest.fixture()
def video_dir(tmp_path):
    save_video(make_synthetic_video(4, 32, 48, seed=1), tmp_path / "frames", tmp_path / "masks")
    return tmp_path


def make_video(root, annotations=None, **kwargs) -> VOSVideo:
    frames = tuple(sorted((root / "frames").glob("*.jpg")))
    return VOSVideo("v", frames, annotations or {0: root / "masks" / "00000.png"}, **kwargs)


def test_non_contiguous_ids_are_mapped_and_mapped_back(video_dir):
    mask = np.zeros((32, 48), dtype=np.uint8)
    mask[2:10, 2:10] = 3
    mask[20:30, 30:40] = 7
    write_mask(video_dir / "masks" / "00000.png", mask)
    loaded = load_video(make_video(video_dir), resolution=None)
    assert loaded.object_ids == [3, 7]
    assert set(loaded.annotations[0].unique().tolist()) == {0, 1, 2}
    assert np.array_equal(loaded.to_file_ids(loaded.annotations[0].numpy().astype(np.uint8)), mask)


def test_frames_are_resized_lazily(video_dir):
    loaded = load_video(make_video(video_dir), resolution=16)
    assert loaded.frames.original_size == (32, 48)
    assert loaded.frames[2].shape == (3, 16, 24)
    assert loaded.annotations[0].shape == (16, 24)


def test_mask_of_wrong_size(video_dir):
    write_mask(video_dir / "masks" / "00000.png", np.ones((10, 10), dtype=np.uint8))
    with pytest.raises(DataError, match="mask is 10x10 but the frames are 48x32"):
        load_video(make_video(video_dir), resolution=None)


def test_empty_first_mask(video_dir):
    write_mask(video_dir / "masks" / "00000.png", np.zeros((32, 48), dtype=np.uint8))
    with pytest.raises(DataError, match="first annotated mask is empty"):
        load_video(make_video(video_dir), resolution=None)


def test_frame_of_another_size_is_reported_when_read(video_dir):
    Image.fromarray(np.zeros((10, 10, 3), dtype=np.uint8)).save(video_dir / "frames" / "00002.jpg")
    loaded = load_video(make_video(video_dir), resolution=None)
    with pytest.raises(DataError, match="00002.jpg: frame is 10x10"):
        loaded.frames[2]


def test_output_indices(video_dir):
    video = make_video(video_dir, {1: video_dir / "masks" / "00000.png"}, output_frames=(0, 2, 3))
    assert video.output_indices() == [2, 3]
    assert video.output_name(2) == "00002.png"


def test_input_digest_follows_contents_not_folders(tmp_path):
    first, second, copy = tmp_path / "a", tmp_path / "b", tmp_path / "elsewhere" / "a"
    save_video(make_synthetic_video(4, 32, 48, seed=1), first / "frames", first / "masks")
    save_video(make_synthetic_video(4, 32, 48, seed=2), second / "frames", second / "masks")
    import shutil

    shutil.copytree(first, copy)
    digest = make_video(first).input_digest()
    assert make_video(copy).input_digest() == digest  # same files elsewhere: same inputs
    assert make_video(second).input_digest() != digest  # same names, other contents
    assert make_video(first, output_frames=(0, 2)).input_digest() != digest
    write_mask(first / "masks" / "00000.png", np.ones((32, 48), dtype=np.uint8))
    assert make_video(first).input_digest() != digest  # a changed mask changes the inputs


def test_void_pixels_are_background_with_a_warning(video_dir, caplog):
    mask = np.zeros((32, 48), dtype=np.uint8)
    mask[4:12, 4:12] = 1
    mask[12:14, 4:12] = 255  # DAVIS void around an object's border
    write_mask(video_dir / "masks" / "00000.png", mask)
    with caplog.at_level("WARNING", logger="ttvos"):
        loaded = load_video(make_video(video_dir), resolution=None)
    assert loaded.object_ids == [1] and loaded.num_objects == 1
    assert int(loaded.annotations[0][12:14, 4:12].max()) == 0
    assert "16 pixels have id 255 (void in DAVIS); treated as background" in caplog.text


def test_frames_resize_with_the_antialias_setting(video_dir):
    from ttvos.data.io import normalize_frame, resize_frame

    plain = load_video(make_video(video_dir), resolution=16)
    smooth = load_video(make_video(video_dir), resolution=16, antialias=True)
    raw = normalize_frame(plain.frames.raw(1))
    torch.testing.assert_close(plain.frames[1], resize_frame(raw, (16, 24), antialias=False))
    torch.testing.assert_close(smooth.frames[1], resize_frame(raw, (16, 24), antialias=True))
    assert not torch.allclose(plain.frames[1], smooth.frames[1])

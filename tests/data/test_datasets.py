"""Benchmark layouts and custom input: which videos, frames, annotations and outputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ttvos.data.datasets import CORRUPTIONS, DatasetSource, expand_corruptions, open_dataset
from ttvos.data.io import DataError, write_mask
from ttvos.data.synthetic import (
    make_synthetic_video,
    save_frames,
    write_davis,
    write_davis_c,
    write_mose,
    write_youtube,
)
from ttvos.data.video import load_video

VIDEOS = {"bear": make_synthetic_video(6, 32, 48, seed=1), "camel": make_synthetic_video(6, 32, 48, seed=2)}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    write_davis_c(root, VIDEOS, [("brightness", "med")])
    write_davis(root, VIDEOS, split="test-dev")
    write_youtube(root, VIDEOS, every=2, late_object=1)
    write_mose(root, VIDEOS)
    return root


def open_(root, dataset, **kwargs):
    source = DatasetSource(dataset, kwargs.pop("corruption", None), kwargs.pop("level", None))
    return open_dataset(source, root, cache=root / "cache", **kwargs)


@pytest.mark.parametrize("dataset", ["davis", "davis-testdev", "mose"])
def test_first_frame_layouts(root, dataset):
    data = open_(root, dataset)
    assert data.names == ["bear", "camel"]
    video = data.video("bear")
    assert [f.name for f in video.frames] == [f"{t:05d}.jpg" for t in range(6)]
    assert list(video.annotations) == [0] and video.annotations[0].name == "00000.png"
    assert video.output_indices() == list(range(6))


def test_davis_uses_only_the_first_frame_annotation(root):
    video = open_(root, "davis").video("camel")
    assert (video.annotations[0].parent / "00003.png").is_file()  # ground truth exists for every frame
    assert list(video.annotations) == [0]


def test_davis_c_reads_corrupted_frames_and_davis_masks(root):
    video = open_(root, "davis-c", corruption="brightness", level="med").video("bear")
    assert video.frames[0].parts[-4:-1] == ("med", "brightness", "bear")
    assert "Annotations" in video.annotations[0].parts
    with pytest.raises(DataError, match="DAVIS-C frames not found"):
        open_(root, "davis-c", corruption="contrast", level="high")


def test_youtube_late_objects_and_subsampled_outputs(root):
    data = open_(root, "youtube")
    assert data.names == ["bear", "camel"]
    video = data.video("bear")
    assert len(video.frames) == 6  # every frame, from all_frames
    assert sorted(video.annotations) == [0, 2]
    assert video.output_indices() == [0, 2, 4]  # the frames the server expects
    loaded = load_video(video, resolution=None)
    assert loaded.object_ids == [1, 2]
    assert set(loaded.annotations[0].unique().tolist()) == {0, 1}
    assert set(loaded.annotations[2].unique().tolist()) == {0, 2}


def test_missing_split_file_is_one_line(tmp_path):
    with pytest.raises(DataError) as info:
        open_(tmp_path, "davis")
    assert "ImageSets/2017/val.txt: split file not found; check --data-root" in str(info.value)


def test_missing_frame_folder_fails_that_video_only(root, tmp_path):
    write_davis(tmp_path, VIDEOS)
    frames = tmp_path / "DAVIS" / "2017" / "trainval" / "JPEGImages" / "480p" / "camel"
    for frame in frames.iterdir():
        frame.unlink()
    frames.rmdir()
    data = open_(tmp_path, "davis")
    assert data.video("bear").frames
    with pytest.raises(DataError, match="camel: frame folder not found"):
        data.video("camel")


def test_gap_in_frame_numbers_is_a_missing_frame(tmp_path):
    write_davis(tmp_path, VIDEOS)
    (tmp_path / "DAVIS" / "2017" / "trainval" / "JPEGImages" / "480p" / "bear" / "00003.jpg").unlink()
    with pytest.raises(DataError, match=r"bear/00003.jpg: missing frame"):
        open_(tmp_path, "davis").video("bear")


def test_missing_first_mask(tmp_path):
    write_mose(tmp_path, VIDEOS)
    (tmp_path / "MOSE" / "valid" / "Annotations" / "bear" / "00000.png").unlink()
    with pytest.raises(DataError, match="00000.png: first-frame mask not found"):
        open_(tmp_path, "mose").video("bear")


def test_folder_of_frames_with_binary_mask(tmp_path):
    video = VIDEOS["bear"]
    save_frames(video.frames, tmp_path / "clip")
    Image.fromarray(((video.masks[0] > 0) * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    data = open_(tmp_path, "folder", frames=tmp_path / "clip", mask=tmp_path / "mask.png")
    assert data.names == ["clip"]
    loaded = load_video(data.video("clip"), resolution=None)
    assert loaded.object_ids == [1]


def test_folder_refuses_rgb_masks(tmp_path):
    save_frames(VIDEOS["bear"].frames, tmp_path / "clip")
    Image.fromarray(np.zeros((32, 48, 3), dtype=np.uint8)).save(tmp_path / "mask.png")
    data = open_(tmp_path, "folder", frames=tmp_path / "clip", mask=tmp_path / "mask.png")
    with pytest.raises(DataError, match="mask has image mode 'RGB'.*binary"):
        load_video(data.video("clip"), resolution=None)


def test_folder_of_videos_and_video_file(tmp_path):
    av = pytest.importorskip("av", reason="PyAV is part of the dev extra")
    frames = VIDEOS["camel"].frames
    (tmp_path / "videos").mkdir()
    with av.open(str(tmp_path / "videos" / "camel.mp4"), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    save_frames(VIDEOS["bear"].frames, tmp_path / "videos" / "bear")
    (tmp_path / "masks" / "bear").mkdir(parents=True)
    write_mask(tmp_path / "masks" / "bear" / "00000.png", VIDEOS["bear"].masks[0])
    write_mask(tmp_path / "masks" / "camel.png", VIDEOS["camel"].masks[0])
    data = open_(tmp_path, "folder", frames=tmp_path / "videos", mask=tmp_path / "masks")
    assert data.names == ["bear", "camel"]
    decoded = data.video("camel")
    assert len(decoded.frames) == 6 and decoded.frames[0].suffix == ".png"
    assert decoded.frames[0].parent.parent == tmp_path / "cache"
    assert load_video(decoded, resolution=None).frames[0].shape == (3, 32, 48)
    assert data.video("camel").frames == decoded.frames  # decoded once, then reused


def test_expand_corruptions():
    assert expand_corruptions(["brightness/med"]) == [("brightness", "med")]
    assert expand_corruptions(["brightness/all"]) == [("brightness", lv) for lv in ("low", "med", "high")]
    assert expand_corruptions(["all/high"]) == [(c, "high") for c in CORRUPTIONS]
    assert len(expand_corruptions(["all"])) == 14 * 3
    assert expand_corruptions(["contrast/low", "contrast/all"])[0] == ("contrast", "low")
    with pytest.raises(DataError, match="unknown corruption 'fog'"):
        expand_corruptions(["fog/low"])
    with pytest.raises(DataError, match="unknown level 'extreme'"):
        expand_corruptions(["contrast/extreme"])


def write_clip(path, frames):
    av = pytest.importorskip("av", reason="PyAV is part of the dev extra")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def test_replaced_video_file_is_decoded_again(tmp_path):
    clip, mask = tmp_path / "clip.mp4", tmp_path / "mask.png"
    write_clip(clip, VIDEOS["camel"].frames[:3])
    write_mask(mask, VIDEOS["camel"].masks[0])
    first = open_(tmp_path, "folder", frames=clip, mask=mask).video("clip").frames
    assert len(first) == 3
    write_clip(clip, VIDEOS["camel"].frames)  # a longer clip under the same name
    second = open_(tmp_path, "folder", frames=clip, mask=mask).video("clip").frames
    assert len(second) == 6 and second[0].parent != first[0].parent
    assert not first[0].parent.exists()  # the old decoded frames are removed
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [second[0].parent.name]


def test_youtube_without_all_frames_uses_the_sampled_frames_and_says_so(root, tmp_path):
    import shutil

    shutil.copytree(root / "YouTube2018" / "valid", tmp_path / "YouTube2018" / "valid")
    data = open_(tmp_path, "youtube")
    assert len(data.notes) == 1 and "6 fps" in data.notes[0] and "all_frames" in data.notes[0]
    video = data.video("bear")
    assert [f.stem for f in video.frames] == ["00000", "00002", "00004"]
    assert video.output_indices() == [0, 1, 2]
    assert not open_(root, "youtube").notes


def test_youtube_video_missing_from_all_frames_is_an_error(root, tmp_path):
    import shutil

    shutil.copytree(root / "YouTube2018", tmp_path / "YouTube2018")
    shutil.rmtree(tmp_path / "YouTube2018" / "all_frames" / "valid_all_frames" / "JPEGImages" / "camel")
    data = open_(tmp_path, "youtube")
    assert len(data.video("bear").frames) == 6
    with pytest.raises(DataError, match="camel: missing from all_frames"):
        data.video("camel")

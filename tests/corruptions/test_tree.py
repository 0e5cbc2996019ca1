"""Corrupting a dataset tree: sources, selections, annotations, settings, temporary folders."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from ttvos.corruptions import CORRUPTIONS
from ttvos.corruptions.tree import (
    CorruptRequest,
    Settings,
    find_videos,
    prepare_corruption,
    run_plan,
    select,
    write_output,
)
from ttvos.data.io import read_frame
from ttvos.data.synthetic import make_synthetic_video, save_frames, write_davis
from ttvos.errors import UserError


@pytest.fixture
def davis(tmp_path: Path) -> Path:
    """A data root with a 2-video DAVIS val tree (3 frames, 24x32)."""
    write_davis(
        tmp_path / "src", {n: make_synthetic_video(3, 24, 32, seed=i) for i, n in enumerate(("aa", "bb"))}
    )
    return tmp_path / "src"


def test_sources_of_every_kind(davis, tmp_path):
    videos, trainval = find_videos(davis)
    assert [v.name for v in videos] == ["aa", "bb"] and len(videos[0].frames) == 3
    assert trainval == davis / "DAVIS" / "2017" / "trainval"
    assert find_videos(trainval)[1] == trainval
    frames = trainval / "JPEGImages" / "480p"
    assert [v.name for v in find_videos(frames)[0]] == ["aa", "bb"] and find_videos(frames)[1] is None
    assert [v.name for v in find_videos(frames / "aa")[0]] == ["aa"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no DAVIS tree, frame folders or frames"):
        find_videos(tmp_path / "empty")


def test_selection_errors_and_unavailable_types(monkeypatch):
    names, levels, unavailable = select(("all",), ("all",))
    assert names == list(CORRUPTIONS)[:10] and levels == ["low", "med", "high"]
    assert sorted(unavailable) == ["style1", "style2", "style3", "style4"]
    assert select(("contrast,pixelate", "motion_blur"), ("high,low",))[:2] == (
        ["contrast", "pixelate", "motion_blur"],
        ["low", "high"],
    )
    with pytest.raises(UserError, match=r"unknown corruption 'fog'; valid: all, gaussian_noise, contrast, "):
        select(("fog",), ("all",))
    with pytest.raises(UserError, match=r"unknown level 'extreme'; valid: all, low, med, high"):
        select(("all",), ("extreme",))
    with pytest.raises(UserError, match="style3 needs .*ttvos prepare-data davis-c"):
        select(("style3",), ("low",))
    missing = dataclasses.replace(
        CORRUPTIONS["cartoon"], problem=lambda: "cartoon needs OpenCV: pip install x"
    )
    monkeypatch.setitem(CORRUPTIONS, "cartoon", missing)
    with pytest.raises(UserError, match="cartoon needs OpenCV"):
        select(("all",), ("low",))


def test_plan_links_annotations_and_resumes(davis, tmp_path):
    request = CorruptRequest(davis, tmp_path / "out", ("contrast",), ("low",))
    plan = prepare_corruption(request)
    link = tmp_path / "out" / "DAVIS" / "2017" / "trainval"
    assert link.resolve() == (davis / "DAVIS" / "2017" / "trainval").resolve()
    assert [t.video.name for t in plan.tasks] == ["aa", "bb"] and not plan.finished
    written = list(run_plan(plan))
    assert [e.task.folder.name for e in written] == ["aa", "bb"]
    folder = tmp_path / "out" / "DAVIS-C" / "low" / "contrast"
    assert sorted(p.name for p in (folder / "aa").iterdir()) == ["00000.jpg", "00001.jpg", "00002.jpg"]
    again = prepare_corruption(request)
    assert not again.tasks and len(again.finished) == 2
    with pytest.raises(UserError, match="was made with"):
        prepare_corruption(dataclasses.replace(request, settings=Settings(seed=3)))


def test_output_defaults_to_a_data_root_source(davis, tmp_path):
    plan = prepare_corruption(CorruptRequest(davis, None, ("pixelate",), ("med",), ("bb",)))
    assert plan.output == davis and [t.video.name for t in plan.tasks] == ["bb"]
    with pytest.raises(UserError, match="--output is needed"):
        prepare_corruption(CorruptRequest(davis / "DAVIS" / "2017" / "trainval" / "JPEGImages" / "480p"))
    with pytest.raises(UserError, match="--videos: zz not in"):
        prepare_corruption(CorruptRequest(davis, tmp_path / "o", ("pixelate",), ("med",), ("zz",)))


def test_without_symbolic_links_the_masks_are_copied(davis, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no symlinks here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    plan = prepare_corruption(CorruptRequest(davis, tmp_path / "out", ("contrast",), ("low",)))
    copied = tmp_path / "out" / "DAVIS" / "2017" / "trainval"
    assert "copied" in (plan.annotations or "") and not copied.is_symlink()
    assert (copied / "ImageSets" / "2017" / "val.txt").is_file()
    assert (copied / "Annotations" / "480p" / "aa" / "00000.png").is_file()


def test_a_foreign_davis_without_the_masks_is_refused(davis, tmp_path):
    (tmp_path / "out" / "DAVIS" / "2017" / "trainval").mkdir(parents=True)
    with pytest.raises(UserError, match="has no Annotations/480p/aa"):
        prepare_corruption(CorruptRequest(davis, tmp_path / "out", ("contrast",), ("low",)))


def test_stale_temporary_folders_are_removed_live_ones_kept(davis, tmp_path):
    folder = tmp_path / "out" / "DAVIS-C" / "low" / "contrast"
    stale, live = folder / ".tmp-aa-999999999", folder / f".tmp-bb-{os.getpid()}"
    stale.mkdir(parents=True)
    live.mkdir()
    prepare_corruption(CorruptRequest(davis, tmp_path / "out", ("contrast",), ("low",)))
    assert not stale.exists() and live.exists()


def test_png_output_is_the_exact_array(davis, tmp_path):
    plan = prepare_corruption(
        CorruptRequest(
            davis, tmp_path / "out", ("motion_blur",), ("high",), settings=Settings(image_format="png")
        )
    )
    event = write_output(plan.tasks[0], plan.settings)
    source = np.stack([read_frame(p) for p in plan.tasks[0].video.frames]).astype(np.float32)
    written = read_frame(event.task.folder / "00001.png")
    expected = np.rint((source[0] + 2 * source[1]) / 3)
    assert np.array_equal(written, expected.astype(np.uint8))


def test_an_unreadable_frame_is_named(davis, tmp_path):
    broken = davis / "DAVIS" / "2017" / "trainval" / "JPEGImages" / "480p" / "bb" / "00001.jpg"
    broken.write_bytes(b"not a jpeg")
    plan = prepare_corruption(CorruptRequest(davis, tmp_path / "out", ("contrast",), ("low",)))
    with pytest.raises(UserError, match=r"bb/00001\.jpg: unreadable image"):
        list(run_plan(plan))
    assert (tmp_path / "out" / "DAVIS-C" / "low" / "contrast" / "aa").is_dir()


def test_frames_of_different_sizes_are_refused(tmp_path):
    video = make_synthetic_video(2, 24, 32).frames
    save_frames(video, tmp_path / "clip")
    save_frames(np.zeros((3, 20, 32, 3), np.uint8), tmp_path / "clip", range(2, 3))
    plan = prepare_corruption(CorruptRequest(tmp_path / "clip", tmp_path / "out", ("contrast",), ("low",)))
    with pytest.raises(UserError, match=r"00002\.jpg: frame size 32x20 differs"):
        list(run_plan(plan))

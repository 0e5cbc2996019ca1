"""Tiny archives in each dataset's upstream layout, built from the synthetic videos.

* DAVIS 2017 trainval / test-dev 480p zips: one top folder ``DAVIS/`` (ImageSets, JPEGImages/480p,
  Annotations/480p);
* YouTube-VOS 2018 ``valid.zip`` (``valid/``: meta.json, JPEGImages, Annotations) and the all-frames
  ``valid.zip`` (``valid_all_frames/JPEGImages``);
* MOSE ``valid.tar.gz`` (``valid/``: JPEGImages, Annotations);
* DAVIS-C ``davisc.tar.gz``: ``<level>/<corruption>/<video>/`` at the top (or under ``root``).
"""

from __future__ import annotations

import dataclasses
import tarfile
import tempfile
import zipfile
from pathlib import Path

from ttvos.data.datasets import CORRUPTIONS, LEVELS
from ttvos.data.synthetic import (
    SyntheticVideo,
    make_synthetic_video,
    save_frames,
    write_davis,
    write_mose,
    write_youtube,
)
from ttvos.download.registry import Registry, load_registry


def videos(count: int, frames: int = 3, height: int = 24, width: int = 32) -> dict[str, SyntheticVideo]:
    return {f"v{i:02d}": make_synthetic_video(frames, height, width, seed=i) for i in range(count)}


def zip_tree(folder: Path, archive: Path, top: str) -> Path:
    """Zip ``folder``'s content under the top folder ``top`` (directory entries included)."""
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"{top}/", "")
        for path in sorted(folder.rglob("*")):
            name = f"{top}/{path.relative_to(folder).as_posix()}"
            if path.is_dir():
                handle.writestr(f"{name}/", "")
            else:
                handle.write(path, name)
    return archive


def tar_tree(folder: Path, archive: Path, top: str) -> Path:
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(folder, arcname=top or ".")
    return archive


def build(kind: str, archive: Path, clips: dict[str, SyntheticVideo], davisc_root: str = "") -> Path:
    """The upstream archive ``kind`` (a registry archive name) holding ``clips``."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        if kind == "DAVIS-2017-trainval-480p.zip":
            return zip_tree(write_davis(tree, clips), archive, "DAVIS")
        if kind == "DAVIS-2017-test-dev-480p.zip":
            return zip_tree(write_davis(tree, clips, split="test-dev"), archive, "DAVIS")
        if kind.startswith("YouTube2018"):
            write_youtube(tree, clips, every=2, late_object=1)
            if kind == "YouTube2018-valid.zip":
                return zip_tree(tree / "YouTube2018" / "valid", archive, "valid")
            return zip_tree(
                tree / "YouTube2018" / "all_frames" / "valid_all_frames", archive, "valid_all_frames"
            )
        if kind == "MOSE-valid.tar.gz":
            write_mose(tree, clips)
            return tar_tree(tree / "MOSE" / "valid", archive, "valid")
        assert kind == "davisc.tar.gz"
        for level in LEVELS:
            for corruption in CORRUPTIONS:
                for name, clip in clips.items():
                    save_frames(clip.frames, tree / level / corruption / name)
        return tar_tree(tree, archive, davisc_root)


def small_registry(count: int) -> Registry:
    """The packaged registry expecting ``count`` videos per archive (the tiny archives' releases)."""
    registry = load_registry()
    archives = {n: dataclasses.replace(a, videos=count) for n, a in registry.archives.items()}
    return dataclasses.replace(registry, archives=archives)

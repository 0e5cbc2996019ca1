"""``ttvos prepare-data`` through the CLI: a DAVIS release from a local mirror, then ``ttvos run`` on it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ttvos.cli import app

from ..download.server import local_only, serving
from ..download.upstream import build, videos
from .conftest import run_arguments

runner = CliRunner()
ARCHIVE = "DAVIS-2017-trainval-480p.zip"


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    local_only(monkeypatch)
    for name in ("TTVOS_MIRROR", "TTVOS_MODEL_MIRROR", "TTVOS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def davis_zip(tmp_path_factory):
    """The DAVIS 2017 trainval zip's layout with the release's 30 val videos (tiny ones)."""
    return build(ARCHIVE, tmp_path_factory.mktemp("upstream") / ARCHIVE, videos(30, frames=3))


@pytest.fixture()
def server(davis_zip):
    with serving() as running:
        running.files[ARCHIVE] = davis_zip.read_bytes()
        yield running


def prepare(*args):
    return runner.invoke(app, ["prepare-data", *args])


def test_prepare_twice_then_run(server, tmp_path):
    data = tmp_path / "data"
    first = prepare("davis", "--data-root", str(data), "--mirror", f"{server.url}/files", "--quiet")
    assert first.exit_code == 0, first.output
    assert "installed" in first.output and "30" in first.output and "90" in first.output  # videos, frames
    count = len(server.requests)
    second = prepare("davis", "--data-root", str(data), "--mirror", f"{server.url}/files")
    assert second.exit_code == 0 and "already there" in second.output
    assert len(server.requests) == count  # a no-op: checked, nothing fetched
    listed = prepare("--list", "--data-root", str(data))
    assert listed.exit_code == 0 and "prepared" in listed.output

    arguments = run_arguments(data, "standin", tmp_path / "results", "-c", "stcn", "--videos", "v03")
    result = runner.invoke(app, [*arguments, "--resolution", "native"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "results" / "davis" / "stcn" / "seed1" / "v03").iterdir())
    assert written == ["00000.png", "00001.png", "00002.png"]


def test_offline_and_from_archive(server, davis_zip, tmp_path):
    offline = prepare("davis", "--data-root", str(tmp_path / "a"), "--offline")
    assert offline.exit_code == 1 and "--offline forbids downloading" in offline.output
    given = prepare(
        "davis", "--data-root", str(tmp_path / "b"), "--offline", "--from-archive", str(davis_zip)
    )
    assert given.exit_code == 0, given.output
    assert (tmp_path / "b" / "DAVIS" / "2017" / "trainval" / "ImageSets" / "2017" / "val.txt").is_file()
    assert server.requests == [] and davis_zip.is_file()


def test_a_drive_quota_page_is_one_line(server, tmp_path):
    result = prepare("mose", "--data-root", str(tmp_path), "--mirror", f"{server.url}/quota", "--quiet")
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("error: MOSE-valid.tar.gz") and "download quota exceeded" in line
    assert f"open {server.url}/quota/MOSE-valid.tar.gz in a browser" in line
    assert not (tmp_path / "MOSE").exists()


def test_bad_requests(tmp_path):
    assert "name a dataset" in prepare("--data-root", str(tmp_path)).output
    unknown = prepare("kitti", "--data-root", str(tmp_path), "--offline")
    assert unknown.exit_code == 1 and "unknown dataset 'kitti'" in unknown.output

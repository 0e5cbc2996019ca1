"""prepare-data's core on tiny archives in each upstream layout, served by the local server."""

from __future__ import annotations

import dataclasses
import os
import tarfile

import pytest

from ttvos.data.datasets import DatasetSource, open_dataset
from ttvos.download import prepare as prepare_module
from ttvos.download.extract import ArchiveError
from ttvos.download.prepare import MARKER, Prepared, PreparedRecord, prepare, tree_status
from ttvos.download.store import DownloadError, sha256_of
from ttvos.errors import UserError

from .upstream import build, small_registry, videos

CLIPS = videos(2)
REGISTRY = small_registry(2)
# Fetched through the registry's own Drive ids (YouTube: usercontent form, MOSE: cookie token).
THROUGH_DRIVE = ("youtube", "mose")


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """Every registry archive, built once in its upstream layout."""
    folder = tmp_path_factory.mktemp("upstream")
    return {name: build(name, folder / name, CLIPS) for name in REGISTRY.archives}


def serve(server, archives, *names):
    for name in names:
        server.files[name] = archives[name].read_bytes()
        for source in REGISTRY.archives[name].file.sources:
            if source.kind == "drive":
                flow = "usercontent" if name.startswith("YouTube") else "cookie"
                server.drive[source.value] = (flow, name)


def run(datasets, root, network, **options):
    events = list(prepare(datasets, root, network, registry=REGISTRY, **options))
    return [e for e in events if isinstance(e, Prepared)]


def mirrored(network, server):
    return dataclasses.replace(network, mirror=f"{server.url}/files")


@pytest.mark.parametrize(
    ("dataset", "source"),
    [
        ("davis", DatasetSource("davis")),
        ("davis-testdev", DatasetSource("davis-testdev")),
        ("davis-c", DatasetSource("davis-c", "brightness", "med")),
        ("youtube", DatasetSource("youtube")),
        ("mose", DatasetSource("mose")),
    ],
)
def test_each_dataset_becomes_the_tree_ttvos_run_reads(server, network, archives, tmp_path, dataset, source):
    serve(server, archives, *REGISTRY.datasets[dataset])
    if dataset in THROUGH_DRIVE:
        prepared = run([dataset], tmp_path, network)
    else:
        prepared = run([dataset], tmp_path, mirrored(network, server))
    assert [p.archive for p in prepared] == list(REGISTRY.datasets[dataset]) and all(
        p.installed for p in prepared
    )
    opened = open_dataset(source, tmp_path, cache=tmp_path / "cache")
    assert opened.names == sorted(CLIPS)
    assert len(opened.video("v01").frames) == 3
    for row in prepared:
        record = PreparedRecord.read(row.target)
        assert record is not None and record.videos == row.counts.videos
        assert record.sha256 == sha256_of_served(server, row.archive)
    assert sorted(p.name for p in (tmp_path / ".downloads").iterdir()) == sorted(
        f"{name}.sha256" for name in REGISTRY.datasets[dataset]
    )  # archives deleted once unpacked, their hashes pinned
    assert not list(tmp_path.glob(".tmp-*"))

    count = len(server.requests)
    again = run([dataset], tmp_path, network)
    assert len(server.requests) == count and not any(p.installed for p in again)  # a no-op
    assert [p.counts for p in again] == [p.counts for p in prepared]


def sha256_of_served(server, name):
    import hashlib

    return hashlib.sha256(server.files[name]).hexdigest()


def test_counts_of_the_release_are_enforced(server, network, archives, tmp_path):
    serve(server, archives, "DAVIS-2017-trainval-480p.zip")
    events = prepare(["davis"], tmp_path, mirrored(network, server), keep_archives=True)  # real registry: 30
    with pytest.raises(UserError, match=r"ImageSets/2017/val.txt: 2 videos, the release has 30.*nothing was"):
        list(events)
    assert not (tmp_path / "DAVIS").exists() and not list(tmp_path.glob(".tmp-*"))
    assert (tmp_path / ".downloads" / "DAVIS-2017-trainval-480p.zip").is_file()  # kept: it unpacked fine


def test_archives_given_by_hand_are_recognised_by_content(archives, tmp_path, server):
    given = [tmp_path / "valid (1).zip", tmp_path / "valid.zip"]  # the names browsers give both
    given[0].write_bytes(archives["YouTube2018-valid_all_frames.zip"].read_bytes())
    given[1].write_bytes(archives["YouTube2018-valid.zip"].read_bytes())
    from ttvos.download.transfer import Network

    prepared = run(["youtube"], tmp_path / "data", Network(offline=True), from_archives=given)
    assert [p.archive for p in prepared] == ["YouTube2018-valid.zip", "YouTube2018-valid_all_frames.zip"]
    assert all(path.is_file() for path in given)  # files given by hand are never deleted
    assert server.requests == []
    with pytest.raises(UserError, match="cannot tell which archive"):
        run(["youtube"], tmp_path / "other", Network(offline=True), from_archives=[given[1], given[1]])


def test_davisc_root_folder_variants(archives, tmp_path):
    from ttvos.download.transfer import Network

    trainval = archives["DAVIS-2017-trainval-480p.zip"]
    wrapped = build("davisc.tar.gz", tmp_path / "davisc.tar.gz", CLIPS, davisc_root="DAVISC")
    prepared = run(["davis-c"], tmp_path / "data", Network(offline=True), from_archives=[wrapped, trainval])
    assert (tmp_path / "data" / "DAVIS-C" / "high" / "style4" / "v00").is_dir()
    assert prepared[-1].counts.videos == 3 * 14 * 2


def test_truncated_download_is_refused_and_removed(server, network, archives, tmp_path):
    data = archives["MOSE-valid.tar.gz"].read_bytes()
    server.files["MOSE-valid.tar.gz"] = data[: len(data) // 2]  # a broken upload, served whole
    with pytest.raises(ArchiveError, match="truncated or corrupt archive"):
        run(["mose"], tmp_path, mirrored(network, server))
    assert not (tmp_path / "MOSE").exists() and not list(tmp_path.glob(".tmp-*"))
    assert not (tmp_path / ".downloads" / "MOSE-valid.tar.gz").exists()  # unverified and useless


def test_path_traversal_member_installs_nothing(server, network, archives, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(archives["MOSE-valid.tar.gz"]) as good, tarfile.open(evil, "w:gz") as bad:
        for member in good.getmembers():
            bad.addfile(member, good.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo("valid/../../../escaped.txt")
        bad.addfile(info)
    server.files["MOSE-valid.tar.gz"] = evil.read_bytes()
    with pytest.raises(ArchiveError, match="refused member 'valid/../../../escaped.txt'"):
        run(["mose"], tmp_path / "data", mirrored(network, server))
    assert not list(tmp_path.rglob("escaped.txt")) and not (tmp_path / "data" / "MOSE").exists()


def test_pinned_archive_hash_protects_a_reinstall(server, network, archives, tmp_path):
    serve(server, archives, "DAVIS-2017-test-dev-480p.zip")
    run(["davis-testdev"], tmp_path, mirrored(network, server))
    tree = tmp_path / "DAVIS" / "2017" / "test-dev"
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    server.files["DAVIS-2017-test-dev-480p.zip"] = build(
        "DAVIS-2017-test-dev-480p.zip", tmp_path / "changed.zip", videos(2, frames=4)
    ).read_bytes()
    with pytest.raises(DownloadError, match="checksum mismatch .*pinned in"):
        run(["davis-testdev"], tmp_path, mirrored(network, server), force=True)
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before  # the old tree is untouched


def test_interrupted_extraction_leaves_nothing_that_passes(server, network, archives, tmp_path, monkeypatch):
    serve(server, archives, "DAVIS-2017-test-dev-480p.zip")
    real = prepare_module.extract

    def interrupted(path, destination):
        for count, event in enumerate(real(path, destination)):
            if count == 5:
                raise KeyboardInterrupt
            yield event

    monkeypatch.setattr(prepare_module, "extract", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(["davis-testdev"], tmp_path, mirrored(network, server), keep_archives=True)
    assert not (tmp_path / "DAVIS").exists() and not list(tmp_path.glob(".tmp-*"))
    monkeypatch.setattr(prepare_module, "extract", real)
    count = len(server.requests)
    assert run(["davis-testdev"], tmp_path, mirrored(network, server))[0].installed
    assert len(server.requests) == count  # the kept archive was reused (and checked), not fetched again


def test_leftovers_of_interrupted_runs_are_removed(server, network, archives, tmp_path):
    serve(server, archives, "MOSE-valid.tar.gz")
    dead, alive = (
        tmp_path / ".tmp-MOSE-valid.tar.gz.999999999",
        tmp_path / f".tmp-MOSE-valid.tar.gz.{os.getppid()}",
    )
    for folder in (dead, alive):
        (folder / "valid").mkdir(parents=True)
    run(["mose"], tmp_path, mirrored(network, server))
    assert not dead.exists() and alive.exists()  # another process's work in progress is left alone


def test_a_tree_in_the_way_is_reported_not_replaced(tmp_path, network):
    (tmp_path / "MOSE" / "valid" / "JPEGImages").mkdir(parents=True)
    with pytest.raises(UserError, match=r"MOSE/valid exists but is not a complete tree .* --force"):
        run(["mose"], tmp_path, network)


def test_offline_without_the_archive(server, network, tmp_path):
    with pytest.raises(DownloadError, match="--offline forbids downloading; fetch MOSE-valid.tar.gz by hand"):
        run(["mose"], tmp_path, dataclasses.replace(network, offline=True))
    assert server.requests == []


def test_not_enough_space_to_unpack(server, network, archives, tmp_path, monkeypatch):
    serve(server, archives, "MOSE-valid.tar.gz")
    list(
        prepare_module.download(
            REGISTRY.archives["MOSE-valid.tar.gz"].file,
            tmp_path / ".downloads",
            mirrored(network, server),
            fix="",
            by_hand="",
        )
    )
    monkeypatch.setattr(prepare_module, "ensure_free_space", _no_space)
    with pytest.raises(DownloadError, match="unpacking MOSE-valid.tar.gz: needs"):
        run(["mose"], tmp_path, network)
    assert not (tmp_path / "MOSE").exists()


def _no_space(folder, needed, what):
    raise DownloadError(f"not enough free space in {folder} for {what}: needs {needed} B")


def test_status_listing(server, network, archives, tmp_path):
    serve(server, archives, "MOSE-valid.tar.gz")
    run(["mose"], tmp_path, mirrored(network, server))
    status = tree_status(tmp_path, REGISTRY)
    assert set(status) == {"davis", "davis-testdev", "davis-c", "youtube", "mose"}
    (mose,) = status["mose"]
    assert mose.record is not None and mose.record.videos == 2 and mose.present
    assert status["davis"][0].record is None and not status["davis"][0].present
    assert (mose.target / MARKER).is_file()
    assert sha256_of(archives["MOSE-valid.tar.gz"]) == mose.record.sha256

"""Downloads from the local server: resume, retries, Drive confirmation flows, refusals, hashes, offline."""

from __future__ import annotations

import dataclasses
import hashlib
import os

import pytest

from ttvos.download import store
from ttvos.download.registry import RemoteFile, Source
from ttvos.download.store import DownloadError, lock_path, pin
from ttvos.download.transfer import download

PAYLOAD = os.urandom(3_000_000)
DRIVE_ID = "1AbCdEfGhIjK"


def fetch(remote, folder, network, **options):
    return list(download(remote, folder, network, fix="FIX", by_hand="BY-HAND", **options))


def url_file(server, name="data.bin", **fields) -> RemoteFile:
    server.files[name] = PAYLOAD
    return RemoteFile(name, (Source("url", f"{server.url}/files/{name}"),), **fields)


def drive_file(server, flow: str) -> RemoteFile:
    server.files["data.bin"] = PAYLOAD
    server.drive[DRIVE_ID] = (flow, "data.bin")
    return RemoteFile("data.bin", (Source("drive", DRIVE_ID),))


def test_resume_in_a_later_run_after_a_dropped_connection(server, network, tmp_path):
    remote = url_file(server)
    server.drop_after["data.bin"] = 1_000_000
    with pytest.raises(DownloadError, match="run the command again to resume"):
        fetch(remote, tmp_path, dataclasses.replace(network, attempts=1))
    received = (tmp_path / "data.bin.part").stat().st_size
    assert 900_000 < received <= 1_000_000 and not (tmp_path / "data.bin").exists()
    progress = fetch(remote, tmp_path, network)
    assert server.requests[-1][1] == f"bytes={received}-"  # resumed, not restarted
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert progress[-1].done == progress[-1].total == len(PAYLOAD)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_retries_resume_within_one_run(server, network, tmp_path):
    remote = url_file(server)
    server.drop_after["data.bin"] = 777_777
    fetch(remote, tmp_path, network)
    first, second = (r for _, r in server.requests)
    assert first is None and second.startswith("bytes=") and second != "bytes=0-"
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


@pytest.mark.parametrize("flow", ["cookie", "usercontent"])
def test_drive_confirmation_flows(server, network, tmp_path, flow):
    fetch(drive_file(server, flow), tmp_path, network)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    confirmed = server.requests[-1][0]
    assert f"id={DRIVE_ID}" in confirmed
    assert "confirm=t0k3n" in confirmed if flow == "cookie" else "confirm=t&uuid=0b6f-uuid" in confirmed


def test_drive_download_resumes_on_the_confirmed_url(server, network, tmp_path):
    server.drop_after["data.bin"] = 500_000
    fetch(drive_file(server, "usercontent"), tmp_path, network)
    assert server.requests[-1][1].startswith("bytes=") and "uuid=" in server.requests[-1][0]
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    ("flow", "reason"), [("quota", "download quota exceeded"), ("denied", "access denied")]
)
def test_drive_refusals_are_one_line_errors_with_the_browser_url(server, network, tmp_path, flow, reason):
    with pytest.raises(DownloadError) as error:
        fetch(drive_file(server, flow), tmp_path, network)
    message = str(error.value)
    assert "\n" not in message and reason in message and "BY-HAND" in message
    assert f"open {server.url}/uc?export=download&id={DRIVE_ID} in a browser" in message
    assert not (tmp_path / "data.bin").exists()


def test_html_instead_of_the_file(server, network, tmp_path):
    server.drive[DRIVE_ID] = ("quota", "data.bin")
    page_url = f"{server.url}/download?id={DRIVE_ID}"  # an HTML page behind a plain URL
    remote = RemoteFile("data.bin", (Source("url", page_url),))
    with pytest.raises(DownloadError, match="quota exceeded"):
        fetch(remote, tmp_path, network)
    server.files["page.bin"] = b"x"
    remote = RemoteFile("page.bin", (Source("url", f"{server.url}/nowhere"),))
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(remote, tmp_path, network)


def test_next_source_when_one_fails(server, network, tmp_path):
    server.files["data.bin"] = PAYLOAD
    server.drive[DRIVE_ID] = ("quota", "data.bin")
    sources = (Source("url", f"{server.url}/files/gone.bin"), Source("drive", DRIVE_ID))
    sources += (Source("url", f"{server.url}/files/data.bin"),)
    fetch(RemoteFile("data.bin", sources), tmp_path, network)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


def test_mirror_replaces_the_sources(server, network, tmp_path):
    server.files["data.bin"] = PAYLOAD
    remote = RemoteFile("data.bin", (Source("url", "https://example.invalid/data.bin"),))
    fetch(remote, tmp_path, dataclasses.replace(network, mirror=f"{server.url}/files/"))
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


def test_published_hash_mismatch_keeps_nothing(server, network, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch.*published.*FIX"):
        fetch(url_file(server, sha256="0" * 64), tmp_path, network)
    assert list(tmp_path.iterdir()) == []


def test_pinned_hash_is_checked_on_download_and_on_use(server, network, tmp_path):
    remote = url_file(server)
    pin(lock_path(tmp_path, "data.bin"), "1" * 64)
    with pytest.raises(DownloadError, match="pinned in"):
        fetch(remote, tmp_path, network)
    assert not (tmp_path / "data.bin").exists()
    pin(lock_path(tmp_path, "data.bin"), hashlib.sha256(PAYLOAD).hexdigest())
    fetch(remote, tmp_path, network)
    (tmp_path / "data.bin").write_bytes(PAYLOAD[:-1] + b"!")  # damaged on disk later
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch(remote, tmp_path, network)


def test_verified_download_is_pinned_and_a_refused_one_deleted(server, network, tmp_path):
    remote = url_file(server)
    fetch(remote, tmp_path, network, verify=lambda path: None)
    assert store.pinned_hash(lock_path(tmp_path, "data.bin")) == hashlib.sha256(PAYLOAD).hexdigest()

    def refuse(path):
        raise DownloadError("not what we wanted")

    with pytest.raises(DownloadError, match="not what we wanted"):
        fetch(url_file(server, "other.bin"), tmp_path, network, verify=refuse)
    assert not (tmp_path / "other.bin").exists() and not (tmp_path / "other.bin.part").exists()


def test_server_errors_are_retried_then_reported(server, network, tmp_path):
    remote = RemoteFile("data.bin", (Source("url", "http://127.0.0.1:9/closed"),))  # nothing listens
    with pytest.raises(DownloadError, match=r"connection failed \(connection refused\) \(3 attempts\)"):
        fetch(remote, tmp_path, network)


def test_offline_makes_no_request(server, network, tmp_path):
    remote = url_file(server)
    with pytest.raises(DownloadError, match="--offline forbids downloading; BY-HAND"):
        fetch(remote, tmp_path, dataclasses.replace(network, offline=True))
    fetch(remote, tmp_path, network)
    count = len(server.requests)
    fetch(remote, tmp_path, dataclasses.replace(network, offline=True))  # present: fine offline
    assert len(server.requests) == count


def test_not_enough_space_is_a_one_line_error(server, network, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "free_bytes", lambda folder: 5_000_000)
    with pytest.raises(DownloadError, match=r"not enough free space .* needs 103\.0 MB, 5\.0 MB free"):
        fetch(url_file(server), tmp_path, network)

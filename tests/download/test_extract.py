"""Safe extraction: members that could write outside the target are refused, corrupt archives too."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
import zlib

import pytest

from ttvos.download.extract import ArchiveError, archive_kind, extract, top_folder, unpacked_size


def make_tar(path, members, mode="w:gz"):
    """``members``: (name, type, data or link target)."""
    with tarfile.open(path, mode) as archive:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
            else:
                if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = payload
                archive.addfile(info)
    return path


def make_zip(path, members):
    """``members``: (name, data) or (name, data, unix mode)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, *mode in members:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode[0] << 16
            archive.writestr(info, data)
    return path


def test_zip_and_tar_unpack_with_progress(tmp_path):
    files = [("top/a/one.txt", b"1" * 5000), ("top/b/two.txt", b"2" * 100)]
    archive = make_zip(tmp_path / "x.zip", files)
    events = list(extract(archive, tmp_path / "zip"))
    assert (tmp_path / "zip/top/a/one.txt").read_bytes() == b"1" * 5000
    assert events[-1].done == events[-1].total == 5100 == unpacked_size(archive)
    assert top_folder(archive) == "top" and archive_kind(archive) == "zip"
    members = [(n, tarfile.REGTYPE, d) for n, d in files] + [("top/link", tarfile.SYMTYPE, "a/one.txt")]
    members.append(("top/hard", tarfile.LNKTYPE, "top/b/two.txt"))
    archive = make_tar(tmp_path / "x.tar.gz", members)
    events = list(extract(archive, tmp_path / "tar"))
    assert (tmp_path / "tar/top/link").read_bytes() == b"1" * 5000  # a link inside the tree is fine
    assert (tmp_path / "tar/top/hard").read_bytes() == b"2" * 100 and not (
        tmp_path / "tar/top/hard"
    ).is_symlink()
    assert events[-1].done == events[-1].total == archive.stat().st_size
    assert top_folder(archive) == "top" and archive_kind(archive) == "tar"


UNSAFE_TAR = {
    "dot-dot": [("top/../../evil.txt", tarfile.REGTYPE, b"x")],
    "absolute": [("/tmp/evil.txt", tarfile.REGTYPE, b"x")],
    "link-out": [("top/link", tarfile.SYMTYPE, "../../outside")],
    "absolute-link": [("top/link", tarfile.SYMTYPE, "/etc/passwd")],
    "hard-link-out": [("top/hard", tarfile.LNKTYPE, "../../etc/passwd")],
    "device": [("top/dev", tarfile.CHRTYPE, None)],
    "fifo": [("top/fifo", tarfile.FIFOTYPE, None)],
}


@pytest.mark.parametrize("case", list(UNSAFE_TAR))
def test_unsafe_tar_members_are_refused(tmp_path, case):
    archive = make_tar(tmp_path / "bad.tar.gz", [("top/ok.txt", tarfile.REGTYPE, b"ok"), *UNSAFE_TAR[case]])
    with pytest.raises(ArchiveError, match="refused member .*nothing was installed"):
        list(extract(archive, tmp_path / "out" / "tree"))
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "evil.txt").exists()


def test_a_link_chain_that_leaves_the_tree_is_refused(tmp_path):
    # each link alone looks inside, but b resolves through a (-> "top") to the archive's parent
    members = [("top/a", tarfile.SYMTYPE, "."), ("top/b", tarfile.SYMTYPE, "a/../..")]
    with pytest.raises(ArchiveError, match="refused member"):
        list(extract(make_tar(tmp_path / "chain.tar", members, "w"), tmp_path / "out"))


@pytest.mark.parametrize(
    "member",
    [
        ("../evil.txt", b"x"),
        ("/abs/evil.txt", b"x"),
        ("C:/evil.txt", b"x"),
        ("top\\..\\..\\evil.txt", b"x"),
        ("top/link", b"../../outside", stat.S_IFLNK | 0o777),
        ("top/fifo", b"", stat.S_IFIFO | 0o644),
    ],
)
def test_unsafe_zip_members_are_refused(tmp_path, member):
    archive = make_zip(tmp_path / "bad.zip", [("top/ok.txt", b"ok"), member])
    with pytest.raises(ArchiveError, match="refused member"):
        list(extract(archive, tmp_path / "out"))
    assert not (tmp_path / "evil.txt").exists()


def test_truncated_archives_are_refused(tmp_path):
    payload = bytes(range(256)) * 4000
    for name, builder in (
        ("t.zip", lambda p: make_zip(p, [("top/data", payload)])),
        ("t.tar.gz", lambda p: make_tar(p, [("top/data", tarfile.REGTYPE, payload)])),
    ):
        archive = builder(tmp_path / name)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        with pytest.raises(ArchiveError, match="truncated or corrupt archive"):
            list(extract(archive, tmp_path / f"out-{name}"))


def gzip_cut_at_second_member(path, payload):
    """A tar.gz of two files whose compressed stream ends exactly where the second member begins:
    a cut there decompresses cleanly to a shorter tar, which tarfile's stream mode takes for the end
    of the archive (the flaky case of a truncated download)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in ("top/first", "top/second"):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    tar = buffer.getvalue()
    boundary = 512 + -(-len(payload) // 512) * 512  # the first member's header and padded data
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(tar[:boundary]) + deflate.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no mtime
    path.write_bytes(header + head)  # cut: no second member, no end of the deflate stream, no trailer
    return path


def test_a_tar_gz_cut_at_a_member_boundary_is_refused(tmp_path):
    archive = gzip_cut_at_second_member(tmp_path / "cut.tar.gz", bytes(range(256)) * 40)
    with pytest.raises(ArchiveError, match="truncated or corrupt archive"):
        list(extract(archive, tmp_path / "out"))


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_every_tar_compression_unpacks_whole_and_refuses_a_cut(tmp_path, mode):
    payload = bytes(range(256)) * 40
    members = [(f"top/{name}", tarfile.REGTYPE, payload) for name in ("first", "second")]
    archive = make_tar(tmp_path / "t.tar", members, mode)
    list(extract(archive, tmp_path / "whole"))
    assert (tmp_path / "whole" / "top" / "second").read_bytes() == payload
    if mode == "w":  # a plain tar cut where its second member begins
        data = archive.read_bytes()[: 512 + len(payload)]
    else:
        data = archive.read_bytes()[: archive.stat().st_size * 3 // 4]
    archive.write_bytes(data)
    with pytest.raises(ArchiveError, match="truncated or corrupt archive"):
        list(extract(archive, tmp_path / "cut"))


def test_not_an_archive(tmp_path):
    page = tmp_path / "saved.zip"
    page.write_text("<html>quota exceeded</html>")
    with pytest.raises(ArchiveError, match="not a zip or tar archive"):
        list(extract(page, tmp_path / "out"))

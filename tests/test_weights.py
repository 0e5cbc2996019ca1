"""Registered checkpoints: resolving names and paths, and real downloads from a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.errors import UserError
from ttvos.weights import MODELS, DownloadError, ModelInfo, download, resolve_weights


class Server(http.server.ThreadingHTTPServer):
    """Serves files from a folder with Range support; can drop the first response half-way."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.drop_after: int | None = None
        self.ranges: list[str | None] = []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.server.folder / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        header = self.headers.get("Range")
        self.server.ranges.append(header)
        start = int(header.removeprefix("bytes=").rstrip("-")) if header else 0
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if header else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.server.drop_after is not None:
            body, self.server.drop_after = body[: self.server.drop_after], None
        self.wfile.write(body)
        self.wfile.flush()


@pytest.fixture()
def server(tmp_path, standin_checkpoint):
    folder = tmp_path.parent / f"{tmp_path.name}-served"
    folder.mkdir()
    (folder / "model.pth").write_bytes(standin_checkpoint.read_bytes())
    (folder / "junk.pth").write_bytes(b"not a checkpoint" * 1000)
    server = Server(folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_resumes_after_a_dropped_connection(server, tmp_path):
    info = ModelInfo("model", f"{server.url}/model.pth", "test")
    server.drop_after = 5_000_000
    with pytest.raises(DownloadError, match="run the command again to resume"):
        list(download(info, tmp_path / "weights"))
    part = tmp_path / "weights" / "model.pth.part"
    received = part.stat().st_size
    assert 0 < received <= 5_000_000 and not (tmp_path / "weights" / "model.pth").exists()
    progress = list(download(info, tmp_path / "weights"))
    assert server.ranges[-1] == f"bytes={received}-"  # resumed, not restarted
    final = tmp_path / "weights" / "model.pth"
    assert sha256(final) == sha256(server.folder / "model.pth")
    assert progress[-1].done == progress[-1].total == final.stat().st_size
    assert not part.exists()
    assert (tmp_path / "weights" / "model.pth.sha256").read_text().split()[0] == sha256(final)


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    info = ModelInfo("model", f"{server.url}/model.pth", "test", sha256="0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        list(download(info, tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_checkpoint_is_refused(server, tmp_path):
    with pytest.raises(DownloadError, match="not a valid checkpoint"):
        list(download(ModelInfo("junk", f"{server.url}/junk.pth", "test"), tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_missing_file_on_server(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        list(download(ModelInfo("nope", f"{server.url}/nope.pth", "test"), tmp_path))


def test_resolve_names_paths_and_standin(tmp_path, monkeypatch, standin_checkpoint):
    monkeypatch.setenv("TTVOS_WEIGHTS", str(tmp_path))
    assert resolve_weights("standin") is None
    assert resolve_weights(str(standin_checkpoint)) == standin_checkpoint
    with pytest.raises(UserError, match="run `ttvos download-models stcn`"):
        resolve_weights("stcn")
    with pytest.raises(UserError, match="not a registered model"):
        resolve_weights(str(tmp_path / "missing.pth"))


def test_download_models_command_then_resolve(server, tmp_path, monkeypatch):
    (server.folder / MODELS["stcn"].filename).write_bytes((server.folder / "model.pth").read_bytes())
    monkeypatch.setenv("TTVOS_MODEL_MIRROR", server.url)
    monkeypatch.setenv("TTVOS_WEIGHTS", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["download-models", "stcn", "--quiet"])
    assert result.exit_code == 0, result.output
    path = resolve_weights("stcn")
    assert path == tmp_path / "cache" / "stcn.pth"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # corrupted on disk later
    with pytest.raises(UserError, match="checksum mismatch"):
        resolve_weights("stcn")
    unknown = CliRunner().invoke(app, ["download-models", "xmem"])
    assert unknown.exit_code == 1 and "unknown model 'xmem'" in unknown.output

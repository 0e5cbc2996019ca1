"""A local HTTP server for download tests, and a guard that keeps the tests on 127.0.0.1.

The server serves files with Range support (``/files/<name>``), can drop a response half-way, and
plays Google Drive (``/uc`` and ``/download``): the old cookie-token confirmation, the newer
usercontent form with a ``uuid``, a quota page and an access-denied page; ``/quota/<name>`` is a
mirror whose every file hits the quota page. It stops by itself after a deadline even if a test hangs.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "t0k3n"
UUID = "0b6f-uuid"
QUOTA_PAGE = (
    "<html><body><p>Sorry, you can't view or download this file at this time.</p><p>Too many users have "
    "viewed or downloaded this file recently. Please try accessing the file again later.</p></body></html>"
)
DENIED_PAGE = "<html><body><h1>You need access</h1><p>Request access, or switch accounts.</p></body></html>"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop_after: dict[str, int] = {}  # file name -> bytes sent before the connection drops (once)
        self.drive: dict[str, tuple[str, str]] = {}  # Drive file id -> (flow, file name)
        self.requests: list[tuple[str, str | None]] = []  # (path and query, Range header)
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    timeout = 20

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Range")))
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        if parts.path.startswith("/files/"):
            self.send_file(parts.path.removeprefix("/files/"))
        elif parts.path in ("/uc", "/download") and query.get("id") in self.server.drive:
            self.drive(parts.path, query)
        elif parts.path.startswith("/quota/"):  # a mirror whose every file hits Drive's quota page
            self.page(200, QUOTA_PAGE)
        else:
            self.send_error(404)

    def page(self, status: int, html: str, cookie: str | None = None) -> None:
        body = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drive(self, path: str, query: dict[str, str]) -> None:
        file_id = query["id"]
        flow, name = self.server.drive[file_id]
        if flow == "direct":
            self.send_file(name)
        elif flow == "cookie":
            cookie = f"download_warning_1_{file_id}={TOKEN}"
            if query.get("confirm") == TOKEN and cookie in self.headers.get("Cookie", ""):
                self.send_file(name)
            else:
                warning = "<html><body>Google Drive can't scan this file for viruses.</body></html>"
                self.page(200, warning, f"{cookie}; Path=/")
        elif path == "/uc":  # the newer flows move to drive.usercontent.google.com first
            self.redirect(f"{self.server.url}/download?id={file_id}&export=download")
        elif flow == "usercontent" and query.get("confirm") == "t" and query.get("uuid") == UUID:
            self.send_file(name)
        elif flow == "usercontent":
            self.page(200, _usercontent_form(self.server.url, file_id))
        elif flow == "quota":
            self.page(200, QUOTA_PAGE)
        else:
            self.page(403, DENIED_PAGE)

    def send_file(self, name: str) -> None:
        data = self.server.files.get(name)
        if data is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        start = int(header.removeprefix("bytes=").rstrip("-")) if header else 0
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if header else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        if header:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        body = data[start:]
        if name in self.server.drop_after:
            body = body[: self.server.drop_after.pop(name)]
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


def _usercontent_form(base: str, file_id: str) -> str:
    fields = {"id": file_id, "export": "download", "confirm": "t", "uuid": UUID}
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (
        "<html><body><p>Google Drive can't scan this file for viruses.</p>"
        f'<form id="download-form" action="{base}/download" method="get">'
        f'<input type="submit" value="Download anyway">{inputs}</form></body></html>'
    )


@contextlib.contextmanager
def serving(deadline_s: float = 120.0) -> Iterator[Server]:
    """A started server; shut down on exit, or by itself after ``deadline_s``."""
    server = Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(deadline_s, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield server
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()


def local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup other than 127.0.0.1 / localhost fail: the tests never reach the internet."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", b"localhost"):
            raise OSError(f"test tried to reach {host!r}: only 127.0.0.1 is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)

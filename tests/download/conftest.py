"""Download tests run against a local HTTP server only (see server.py)."""

from __future__ import annotations

import pytest

from ttvos.download.transfer import Network

from .server import local_only, serving


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    local_only(monkeypatch)


@pytest.fixture()
def server():
    with serving() as running:
        yield running


@pytest.fixture()
def network(server) -> Network:
    """The registry's Drive ids answered by the local server; no waiting between retries."""
    return Network(attempts=3, backoff_s=0.0, timeout_s=10.0, drive=server.url, drive_usercontent=server.url)

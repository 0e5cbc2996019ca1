"""Resumable, verified downloads: sources in priority order, HTTP Range resume, retries with backoff.

A file is received into ``<name>.part`` (resumed with ``Range`` on the next attempt or the next
run, as long as it comes from the same source), checked (size, published or pinned SHA-256, and the
caller's structural check), and only then renamed to its final name: a file under its final name is
always complete. The core yields :class:`Progress` events and never draws anything.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ttvos
from ttvos.download import drive
from ttvos.download.registry import RemoteFile, Source
from ttvos.download.store import (
    DownloadError,
    check_hash,
    ensure_free_space,
    expected_hash,
    lock_path,
    pin,
)
from ttvos.errors import UserError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

_CHUNK = 64 << 10  # small: a connection that drops loses at most the chunk being read
_PAGE_LIMIT = 2 << 20  # an HTML page larger than this is not a confirmation page
_MAX_PAGES = 4  # confirmation pages followed before giving up
_CONTENT_RANGE_TOTAL = re.compile(r"bytes (?:\d+-\d+|\*)/(\d+)")


@dataclass(frozen=True)
class Network:
    """How files are fetched. The Drive hosts are fields so that tests can point them at a local server."""

    mirror: str | None = None  # serves every registry file as <mirror>/<file name>; replaces the sources
    offline: bool = False  # never touch the network: only files already present (or given by hand)
    attempts: int = 4  # per source, for connection errors, timeouts, HTTP 5xx / 429
    backoff_s: float = 2.0  # wait before the 2nd attempt; doubles each time
    timeout_s: float = 60.0  # connect and read timeout
    drive: str = "https://drive.google.com"
    drive_usercontent: str = "https://drive.usercontent.google.com"


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` bytes (None when unknown) of a task: "download X", "copy X", "unpack X"."""

    task: str
    done: int
    total: int | None


class _Retry(Exception):
    """A transient failure: try the same source again (resuming)."""


class _Failed(Exception):
    """This source will not work now: try the next one."""


@dataclass(frozen=True)
class _Endpoint:
    source: Source
    url: str  # first request
    browser_url: str  # what a person opens to fetch the file by hand


def _endpoints(remote: RemoteFile, network: Network) -> list[_Endpoint]:
    if network.mirror:
        url = f"{network.mirror.rstrip('/')}/{remote.filename}"
        return [_Endpoint(Source("url", url), url, url)]
    endpoints = []
    for source in remote.sources:
        if source.kind == "drive":
            url = drive.first_url(source.value, network.drive)
            endpoints.append(_Endpoint(source, url, url))
        elif source.kind == "onedrive":
            url = source.value + ("&" if "?" in source.value else "?") + "download=1"
            endpoints.append(_Endpoint(source, url, source.value))
        else:
            endpoints.append(_Endpoint(source, source.value, source.value))
    return endpoints


def download(
    remote: RemoteFile,
    folder: Path,
    network: Network,
    *,
    verify: Callable[[Path], None] | None = None,
    force: bool = False,
    fix: str,
    by_hand: str,
) -> Iterator[Progress]:
    """Make ``folder/<remote.filename>`` present and checked; yields progress while receiving it.

    A present file is checked against the published or pinned hash. A new file is pinned when it
    was verified (published hash, or ``verify`` passed); otherwise the caller pins it once it has
    checked it (an archive, after unpacking). ``fix`` says what to do on a checksum mismatch and
    ``by_hand`` how to register a file fetched by hand.
    """
    final = folder / remote.filename
    if final.is_file() and not force:
        check_hash(final, remote, lock_path(folder, remote.filename), fix=fix)
        return
    if network.offline:
        raise DownloadError(
            f"{remote.filename} is not in {folder} and --offline forbids downloading; {by_hand}"
        )
    import requests

    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{remote.filename}.part"
    if force:
        part.unlink(missing_ok=True)
    failures = []
    with requests.Session() as session:
        session.headers.update({"User-Agent": f"ttvos/{ttvos.__version__}", "Accept-Encoding": "identity"})
        for endpoint in _endpoints(remote, network):
            try:
                yield from _from_endpoint(session, endpoint, part, remote, network)
                break
            except _Failed as failure:
                failures.append(f"{endpoint.source.label}: {failure}")
                log.info("%s: %s failed (%s)", remote.filename, endpoint.source.label, failure)
        else:
            raise DownloadError(f"{remote.filename}: no source worked ({'; '.join(failures)}); {by_hand}")
    _accept(part, final, remote, verify, fix)


def adopt(
    path: Path, remote: RemoteFile, folder: Path, *, verify: Callable[[Path], None] | None, fix: str
) -> Iterator[Progress]:
    """Register a file fetched by hand: copy it in, check it as a download, then give it its name."""
    if not path.is_file():
        raise DownloadError(f"{path}: no such file")
    folder.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size
    ensure_free_space(folder, size, remote.filename)
    part = folder / f"{remote.filename}.part"
    done = 0
    with path.open("rb") as source, part.open("wb") as target:
        while chunk := source.read(_CHUNK):
            target.write(chunk)
            done += len(chunk)
            yield Progress(f"copy {remote.filename}", done, size)
    _accept(part, folder / remote.filename, remote, verify, fix)


def _accept(
    part: Path, final: Path, remote: RemoteFile, verify: Callable[[Path], None] | None, fix: str
) -> None:
    """Check a complete ``.part`` file, then rename it; a file that fails a check is deleted."""
    part.with_name(part.name + ".source").unlink(missing_ok=True)
    lock = lock_path(final.parent, remote.filename)
    try:
        if remote.size is not None and part.stat().st_size != remote.size:
            raise DownloadError(
                f"{remote.filename}: got {part.stat().st_size} bytes, expected {remote.size}; {fix}"
            )
        digest = check_hash(part, remote, lock, fix=fix)
        if verify is not None:
            verify(part)
    except UserError:
        part.unlink(missing_ok=True)
        raise
    part.replace(final)
    if verify is not None or expected_hash(remote, lock) is not None:
        pin(lock, digest)


def _from_endpoint(
    session: requests.Session, endpoint: _Endpoint, part: Path, remote: RemoteFile, network: Network
) -> Iterator[Progress]:
    """Download from one source with retries; a partial file from another source is started over."""
    origin = part.with_name(part.name + ".source")
    if part.exists() and (not origin.is_file() or origin.read_text() != endpoint.url):
        part.unlink()
    origin.write_text(endpoint.url)
    for attempt in range(1, network.attempts + 1):
        try:
            yield from _attempt(session, endpoint, part, remote, network)
            return
        except _Retry as error:
            if attempt == network.attempts:
                raise _Failed(f"{error} ({attempt} attempts); run the command again to resume") from error
            delay = network.backoff_s * 2 ** (attempt - 1)
            log.info("%s: %s (%s); retrying in %.0f s", remote.filename, error, endpoint.source.label, delay)
            time.sleep(delay)


def _attempt(
    session: requests.Session, endpoint: _Endpoint, part: Path, remote: RemoteFile, network: Network
) -> Iterator[Progress]:
    import requests

    offset = part.stat().st_size if part.is_file() else 0
    url = endpoint.url
    for _ in range(_MAX_PAGES):
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            response = session.get(url, headers=headers, stream=True, timeout=network.timeout_s)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise _Retry(f"connection failed ({_why(error)})") from error
        except requests.RequestException as error:
            raise _Failed(str(error)) from error
        with response:
            status = response.status_code
            if status in (408, 429) or status >= 500:
                raise _Retry(f"HTTP {status}")
            if status == 416:
                yield from _range_not_satisfiable(response, part, offset, remote)
                return
            if response.headers.get("Content-Type", "").lower().startswith("text/html"):
                page = _read_page(response)
                if endpoint.source.kind == "drive":
                    cookies = {**session.cookies.get_dict(), **response.cookies.get_dict()}
                    following = drive.confirmed_url(
                        endpoint.source.value,
                        page,
                        cookies,
                        drive=network.drive,
                        usercontent=network.drive_usercontent,
                    )
                    if following is not None:
                        url = following
                        continue
                raise _Failed(drive.explain_page(page, status, endpoint.browser_url))
            if status >= 400:
                raise _Failed(f"HTTP {status} {response.reason} for {url}")
            yield from _receive(response, part, offset, remote)
            return
    raise _Failed(f"more than {_MAX_PAGES} confirmation pages; open {endpoint.browser_url} in a browser")


def _why(error: Exception) -> str:
    """A few words for a connection error (requests' own text is a paragraph of urllib3 internals)."""
    text = str(error).lower()
    if "nameresolution" in text or "name or service not known" in text or "failed to resolve" in text:
        return "host not found: no network?"
    if "refused" in text:
        return "connection refused"
    return "timed out" if "timed out" in text else type(error).__name__


def _read_page(response: requests.Response) -> str:
    body = b""
    for chunk in response.iter_content(64 << 10):
        body += chunk
        if len(body) > _PAGE_LIMIT:
            break
    return body.decode(response.encoding or "utf-8", errors="replace")


def _total(response: requests.Response, offset: int) -> int | None:
    """The size of the whole file, from Content-Range (a resumed answer) or Content-Length."""
    match = _CONTENT_RANGE_TOTAL.fullmatch(response.headers.get("Content-Range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("Content-Length")
    return int(length) + offset if length is not None and length.isdigit() else None


def _range_not_satisfiable(
    response: requests.Response, part: Path, offset: int, remote: RemoteFile
) -> Iterator[Progress]:
    """HTTP 416 on a resume: the partial file is already complete, or it is longer than the file."""
    total = _total(response, 0) if response.headers.get("Content-Range") else remote.size
    if total is None or total == offset:
        yield Progress(f"download {remote.filename}", offset, offset)
        return
    part.unlink()
    raise _Retry("the partial file does not match the server's file; starting over")


def _receive(response: requests.Response, part: Path, offset: int, remote: RemoteFile) -> Iterator[Progress]:
    import requests

    if offset and response.status_code != 206:  # the server ignored Range: start over
        offset = 0
    total = _total(response, offset)
    if remote.size is not None and total is not None and total != remote.size:
        raise _Failed(f"the server offers {total} bytes, expected {remote.size}")
    if total is not None:
        ensure_free_space(part.parent, total - offset, remote.filename)
    done = offset
    try:
        with part.open("r+b" if offset else "wb") as handle:
            handle.seek(offset)
            handle.truncate()
            for chunk in response.iter_content(_CHUNK):
                handle.write(chunk)
                done += len(chunk)
                yield Progress(f"download {remote.filename}", done, total)
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
        raise _Retry(f"connection lost after {done} bytes ({type(error).__name__})") from error
    if total is not None and done != total:
        raise _Retry(f"connection closed after {done} of {total} bytes")

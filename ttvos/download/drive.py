"""Google Drive's confirmation pages, and what an HTML page served instead of a file means.

Drive answers a download of a large file with an HTML page ("can't scan this file for viruses")
instead of the file. Two forms exist:

* the older one sets a ``download_warning*`` cookie (and links to ``uc?...&confirm=<token>``): the
  file comes from the same URL with ``confirm=<token>``;
* the newer one (``drive.usercontent.google.com``) holds a form whose hidden inputs (``id``,
  ``export``, ``confirm``, ``uuid``) make the URL of the file.

Any other page (download quota exceeded, access denied, a sign-in page) ends the attempt with a
one-line message and the URL to open in a browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

_TOKEN = re.compile(r"confirm=([0-9A-Za-z_-]+)")
_QUOTA = ("too many users have viewed or downloaded", "download quota", "quota exceeded")
_DENIED = ("you need access", "request access", "you need permission", "servicelogin")


class _FormParser(HTMLParser):
    """Every form of a page: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
            self._in_form = True
        elif tag == "input" and self._in_form and values.get("type") == "hidden" and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def first_url(file_id: str, base: str) -> str:
    """Where a download of a Drive file starts (``base``: the Drive host, e.g. https://drive.google.com)."""
    return f"{base}/uc?export=download&id={file_id}"


def confirmed_url(
    file_id: str, page: str, cookies: dict[str, str], *, drive: str, usercontent: str
) -> str | None:
    """The URL behind a confirmation page, or None when ``page`` is not one.

    A form is followed only to the Drive hosts (``drive``, ``usercontent``): a page cannot send the
    download anywhere else.
    """
    parser = _FormParser()
    parser.feed(page)
    for action, fields in parser.forms:
        if (
            "confirm" in fields
            and fields.get("id") == file_id
            and action.startswith((f"{usercontent}/", f"{drive}/"))
        ):
            return f"{action}?{urlencode(fields)}"
    token = next((v for k, v in cookies.items() if k.startswith("download_warning")), None)
    if token is None and (match := _TOKEN.search(page)):
        token = match.group(1)
    if token is None:
        return None
    return f"{drive}/uc?export=download&confirm={token}&id={file_id}"


def explain_page(page: str, status: int, browser_url: str) -> str:
    """One line saying why an HTML page came instead of the file, and where to get it by hand."""
    text = page.lower()
    if any(marker in text for marker in _QUOTA):
        reason = "download quota exceeded (too many downloads of this file today; retry in 24 h)"
    elif status in (401, 403) or any(marker in text for marker in _DENIED):
        reason = "access denied (the file is not shared publicly, or was removed)"
    elif status >= 400:
        reason = f"HTTP {status}"
    else:
        reason = "an HTML page came instead of the file"
    return f"{reason}; open {browser_url} in a browser to download it by hand"

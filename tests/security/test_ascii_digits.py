"""Ids and numbers are read from ASCII digits only (core/ids.py), on every endpoint.

``"²".isdigit()`` is true and ``int("²")`` raises: ``POST /v1/broadcast {"messageId": "²"}``
answered 500. Arabic-Indic (``"١٢"``) and fullwidth (``"１２"``) digits are taken by
``int()``, so they could name a real id in a way no client meant. Each case must answer
a clean 4xx problem and change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database
from hushcast.core.ids import ascii_int, positive_int
from hushcast.delivery.models import deliveries
from hushcast.groups.models import group_contacts
from hushcast.mute.models import mutes
from tests.support.broadcasts import add_message

ODD_DIGITS = ["²", "١٢", "１２", "1²", "9" * 5000]


@pytest.mark.parametrize("text", ODD_DIGITS + ["", " ", "-1", "+1", "1.0", "0x1"])
def test_ascii_int_refuses(text: str) -> None:
    assert ascii_int(text) is None
    assert positive_int(text) is None


def test_ascii_int_takes_ascii_digits() -> None:
    assert ascii_int(" 0042 ") == 42
    assert ascii_int("-5", signed=True) == -5
    assert positive_int("7") == 7 and positive_int(7) == 7
    assert positive_int(True) is None and positive_int("0") is None


def _state(db: Database) -> tuple[int, ...]:
    with db.read() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (broadcasts, contacts, app_tokens, deliveries, group_contacts, mutes)
        )


@pytest.fixture
def world(client: TestClient, db: Database, app_uuid: str) -> dict[str, Any]:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens", json={"tokens": [{"token": "12", "email": "a@x.io"}]}
    )
    assert r.status_code == 200, r.text
    gid = client.post("/v1/groups", json={"name": "G"}).json()["id"]
    return {"app": app_uuid, "mid": add_message(db), "gid": gid}


def _cases(w: dict[str, Any], odd: str) -> list[tuple[str, str, Any]]:
    app, mid, gid = w["app"], w["mid"], w["gid"]
    return [
        ("POST", "/v1/broadcast", {"messageId": odd, "appId": app}),
        ("POST", "/v1/broadcast", {"messageId": mid, "appId": app, "groups": [odd]}),
        ("POST", "/v1/broadcast", {"messageId": mid, "appId": app, "excludedGroups": [odd]}),
        ("POST", f"/v1/apps/{app}/tokens", {"tokens": [{"token": "13", "contactId": odd}]}),
        ("POST", "/v1/contact", {"contactId": odd, "firstName": "x"}),
        ("POST", "/v1/contact", {"phone": odd}),
        ("POST", "/v1/contacts", {"contacts": [{"contactId": odd, "firstName": "x"}]}),
        ("POST", f"/v1/message/{mid}/smartsend", {"recipients": [{"contactId": odd}]}),
        ("POST", f"/v1/message/{mid}/smartsend", {"recipients": [{"locator": odd}]}),
        ("POST", f"/v1/message/{mid}/test", {"contactIds": [odd]}),
        ("POST", f"/v1/message/{mid}/test", {"tokens": [odd]}),
        ("POST", f"/v1/apps/{app}/token/mute", {"token": "12", "duration": odd}),
        ("POST", f"/v1/apps/{app}/token/mute", {"token": odd}),
        ("POST", f"/v1/groups/{gid}/contacts", {"contactIds": [odd]}),
        ("POST", f"/v1/message/{odd}/smartsend", {"recipients": [{"locator": "12"}]}),
        ("POST", f"/v1/groups/{odd}/contacts", {"contactIds": [1]}),
        ("GET", f"/v1/contact/{odd}", None),
        ("DELETE", f"/v1/contact/{odd}", None),
        ("GET", f"/v1/broadcast/{odd}", None),
        ("GET", f"/v1/broadcast/{odd}/report", None),
        ("GET", f"/v1/groups/{odd}", None),
        ("DELETE", f"/v1/groups/{odd}", None),
        ("GET", f"/v1/messages/telegram/{odd}", None),
        ("GET", f"/v1/messages/{odd}/report", None),
        ("GET", f"/v1/groups?startindex={odd}", None),
        ("GET", f"/v1/apps/{app}/tokens?maxrows={odd}", None),
    ]


@pytest.mark.parametrize("odd", ["²", "١٢", "１２"])
def test_unicode_digits_are_4xx_everywhere_and_change_nothing(
    client: TestClient, db: Database, world: dict[str, Any], odd: str
) -> None:
    before = _state(db)
    for method, url, body in _cases(world, odd):
        r = client.request(method, url, json=body)
        assert 400 <= r.status_code < 500, (method, url, body, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), url
    assert _state(db) == before


def test_broadcast_message_id_superscript_is_400(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    r = client.post("/v1/broadcast", json={"messageId": "²", "appId": world["app"]})
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == "messageId must be a positive integer"
    # ASCII digits in a string still work, as Java clients send them.
    r = client.post("/v1/broadcast", json={"messageId": str(world["mid"]), "appId": world["app"]})
    assert r.status_code == 200, r.text


def test_cli_token_import_reads_contact_ids_as_ascii_digits() -> None:
    from hushcast.cli_tokens import _token_item

    assert _token_item({"token": "5", "contactId": " 12 "}, ["contactId"])["contactId"] == 12
    # Left as text (it used to raise ValueError in the CLI); the server answers 400.
    assert _token_item({"token": "5", "contactId": "²"}, ["contactId"])["contactId"] == "²"

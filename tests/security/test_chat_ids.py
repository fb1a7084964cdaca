"""One canonical chat id everywhere a chat id enters (SQLite and PostgreSQL).

"0123", "+123", " 123 " and 123 are one Telegram chat: a token registered as one
spelling, muted as another and sent to as a third must agree. What cannot be a chat id
is refused with 400 and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hushcast.contacts.models import app_tokens
from hushcast.core.chat_ids import normalize_chat_id
from hushcast.core.db import Database
from hushcast.delivery.models import deliveries
from hushcast.mute.models import mute_events, mutes
from tests.support.broadcasts import add_message
from tests.support.web import signed_in

BAD_CHAT_IDS: list[Any] = [
    "abc",
    "12a",
    "1 2",
    "1.5",
    1.5,
    "0",
    0,
    "-0",
    "²",  # str.isdigit() is true, int() raises
    "١٢٣",  # Arabic-Indic digits: int() would take them
    "１２３",  # fullwidth digits
    "+-1",
    "@ab",  # too short for a username
    "@has space",
    "@1digit_first",
    "9" * 17,
    True,
    [1],
    {"id": 1},
]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("123", "123"),
        ("0123", "123"),
        ("+123", "123"),
        (" 123 ", "123"),
        (123, "123"),
        ("-42", "-42"),
        ("-0042", "-42"),
        (-42, "-42"),
        ("-1001234567890", "-1001234567890"),
        ("@my_channel", "@my_channel"),
        ("@MyChannel", "@MyChannel"),
    ],
)
def test_normalize_chat_id(raw: Any, canonical: str) -> None:
    assert normalize_chat_id(raw) == canonical


@pytest.mark.parametrize("raw", BAD_CHAT_IDS)
def test_normalize_chat_id_refuses(raw: Any) -> None:
    assert normalize_chat_id(raw) is None


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_spellings_of_one_chat_are_one_token_one_mute_one_send(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    url = f"/v1/apps/{app_uuid}/tokens"
    assert client.post(url, json={"tokens": [{"token": "0123", "email": "a@x.io"}]}).is_success
    r = client.post(url, json={"tokens": [{"token": "+123", "email": "a@x.io"}]})
    assert r.json()["tokensUnchanged"] == 1, r.text
    r = client.post(url, json={"tokens": [{"token": 123, "email": "a@x.io"}]})
    assert r.json()["tokensUnchanged"] == 1, r.text
    assert [t["token"] for t in client.get(url).json()] == ["123"]

    # Muted as "+123": the mute holds for "123" and "0123" alike.
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "+123"})
    assert r.status_code == 200 and r.json()["token"] == "123", r.text
    for spelling in ("123", "0123", " +123"):
        state = client.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": spelling})
        assert state.json()["muted"] is True, spelling
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": ["0123", "123", 123]})
    assert [t["token"] for t in r.json()["tokens"]] == ["123"]
    with db.read() as conn:
        assert set(conn.execute(select(mutes.c.token)).scalars()) == {"123"}
        assert set(conn.execute(select(mute_events.c.token)).scalars()) == {"123"}

    # smartsend by locator and a test send reach the registered chat.
    mid = add_message(db)
    r = client.post(
        f"/v1/message/{mid}/smartsend",
        json={"recipients": [{"locator": "0123"}, {"locator": "+123"}], "email": False},
    )
    assert [x["status"] for x in r.json()["results"]] == ["OK", "OK"], r.text
    assert client.post(f"/v1/message/{mid}/test", json={"tokens": ["00123"]}).is_success
    with db.read() as conn:
        assert set(conn.execute(select(deliveries.c.token)).scalars()) == {"123"}

    r = client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "0123"})
    assert r.json() == {"token": "123", "mutedUntil": None}


def test_groups_and_usernames_stay_distinct(client: TestClient, app_uuid: str) -> None:
    url = f"/v1/apps/{app_uuid}/tokens"
    body = {
        "tokens": [
            {"token": "-42", "externalCustomerId": "g"},
            {"token": "42", "externalCustomerId": "p"},
            {"token": "-1001234567890", "externalCustomerId": "s"},
            {"token": "@shop_news", "externalCustomerId": "c"},
        ]
    }
    assert client.post(url, json=body).json()["tokensAdded"] == 4
    assert sorted(t["token"] for t in client.get(url).json()) == sorted(
        ["-42", "42", "-1001234567890", "@shop_news"]
    )


@pytest.mark.parametrize("bad", BAD_CHAT_IDS)
def test_what_cannot_be_a_chat_id_is_400_everywhere(
    client: TestClient, db: Database, app_uuid: str, bad: Any
) -> None:
    mid = add_message(db)
    requests: list[tuple[str, dict[str, Any]]] = [
        (f"/v1/apps/{app_uuid}/tokens", {"tokens": [{"token": bad, "email": "a@x.io"}]}),
        (f"/v1/apps/{app_uuid}/token/mute", {"tokens": ["1", bad]}),
        (f"/v1/apps/{app_uuid}/token/unmute", {"tokens": ["1", bad]}),
        (f"/v1/message/{mid}/smartsend", {"recipients": [{"locator": bad}], "email": False}),
        (f"/v1/message/{mid}/test", {"tokens": [bad]}),
    ]
    if isinstance(bad, str | int) and not isinstance(bad, bool):
        requests.append((f"/v1/apps/{app_uuid}/token/mute", {"token": bad}))
    for url, body in requests:
        r = client.post(url, json=body)
        assert r.status_code == 400, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    if isinstance(bad, str):
        r = client.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": bad})
        assert r.status_code == 400, r.text
        assert "Telegram chat id" in r.json()["detail"]
    for table in (app_tokens, mutes, mute_events, deliveries):
        assert _count(db, table) == 0, table.name


def test_error_names_the_rule(client: TestClient, app_uuid: str) -> None:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens", json={"tokens": [{"token": "12a", "phone": "1"}]}
    )
    assert r.json()["detail"] == (
        "tokens[0].token must be a Telegram chat id: a decimal integer (negative for groups, "
        "-100… for supergroups) or @channelusername; got '12a'"
    )


def test_dashboard_mute_form_normalises_and_refuses(
    client: TestClient, db: Database, api_key: str, app_uuid: str
) -> None:
    csrf = signed_in(client, api_key)
    form = {"duration": "forever", "csrf_token": csrf}
    r = client.post(
        f"/ui/apps/{app_uuid}/mute", data={**form, "token": "+0777"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    with db.read() as conn:
        assert list(conn.execute(select(mutes.c.token)).scalars()) == ["777"]
    r = client.post(
        f"/ui/apps/{app_uuid}/mute", data={**form, "token": "7x7"}, follow_redirects=False
    )
    assert r.status_code == 400
    r = client.post(
        f"/ui/apps/{app_uuid}/unmute",
        data={"token": "²", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 400
    with db.read() as conn:
        assert list(conn.execute(select(mutes.c.token)).scalars()) == ["777"]

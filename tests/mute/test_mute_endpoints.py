"""Mute and unmute, rule by rule, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hushcast.core.db import Database
from hushcast.mute.models import mute_events, mutes
from tests.support.cycles import cyclic_garbage
from tests.support.service import bearer

FOREVER = "9999-12-31T23:59:59Z"


def mute_url(app_uuid: str) -> str:
    return f"/v1/apps/{app_uuid}/token/mute"


def unmute_url(app_uuid: str) -> str:
    return f"/v1/apps/{app_uuid}/token/unmute"


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def assert_problem(r, status: int, detail: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["detail"] == detail
    assert body["status"] == status
    assert "title" in body and "type" in body


def test_mute_forever_without_duration(client: TestClient, app_uuid: str) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "12345"})
    assert r.status_code == 200, r.text
    assert r.json() == {"token": "12345", "mutedUntil": FOREVER}
    state = client.get(mute_url(app_uuid), params={"token": "12345"}).json()
    assert state == {"token": "12345", "muted": True, "mutedUntil": FOREVER}


def test_mute_null_duration_is_forever(client: TestClient, app_uuid: str) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "1", "duration": None})
    assert r.json()["mutedUntil"] == FOREVER


def test_mute_with_duration(client: TestClient, app_uuid: str) -> None:
    before = datetime.now(UTC)
    r = client.post(mute_url(app_uuid), json={"token": "42", "duration": 3600})
    assert r.status_code == 200
    until = parse(r.json()["mutedUntil"])
    assert before + timedelta(seconds=3598) <= until <= before + timedelta(seconds=3601)


def test_integer_token_is_taken_as_string(client: TestClient, app_uuid: str) -> None:
    r = client.post(mute_url(app_uuid), json={"token": 987654321, "duration": 60})
    assert r.json()["token"] == "987654321"
    assert client.get(mute_url(app_uuid), params={"token": "987654321"}).json()["muted"]


def test_string_duration_counts_as_integer(client: TestClient, app_uuid: str) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "5", "duration": "120"})
    assert r.status_code == 200, r.text
    until = parse(r.json()["mutedUntil"])
    assert until - datetime.now(UTC) < timedelta(seconds=121)


@pytest.mark.parametrize("duration", [5, 31536000])
def test_duration_boundaries_accepted(client: TestClient, app_uuid: str, duration: int) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "7", "duration": duration})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("duration", [4, 1, 31536001, 10**12])
def test_duration_out_of_range(client: TestClient, app_uuid: str, duration: int) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "7", "duration": duration})
    assert_problem(r, 400, "Duration must be between 5 and 31536000 seconds")


@pytest.mark.parametrize(
    "duration", [0, -5, 5.5, True, False, [60], {"s": 60}, "abc", "", "5.5", "-10", "0"]
)
def test_duration_not_positive_int(client: TestClient, app_uuid: str, duration: object) -> None:
    r = client.post(mute_url(app_uuid), json={"token": "7", "duration": duration})
    assert_problem(r, 400, "Duration must be positive int")
    assert not client.get(mute_url(app_uuid), params={"token": "7"}).json()["muted"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": None},
        {"token": ""},
        {"token": "   "},
        {"token": 1.5},
        {"token": True},
        {"token": ["1"]},
        {"token": {"id": 1}},
        {"tokens": []},
        {"tokens": ["1", ""]},
        {"tokens": ["1", None]},
        {"tokens": "1"},
        {"duration": 60},
    ],
)
def test_tokens_must_be_specified(client: TestClient, app_uuid: str, body: dict) -> None:  # type: ignore[type-arg]
    r = client.post(mute_url(app_uuid), json=body)
    assert_problem(r, 400, "Tokens must be specified")


def test_unmute_tokens_must_be_specified(client: TestClient, app_uuid: str) -> None:
    assert_problem(client.post(unmute_url(app_uuid), json={}), 400, "Tokens must be specified")


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b'"token"', b"{bad"])
def test_body_not_json_object(client: TestClient, app_uuid: str, raw: bytes) -> None:
    r = client.post(mute_url(app_uuid), content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"] in (
        "Request body must be a JSON object",
        "Request body is not valid JSON",
    )


def test_error_order(client: TestClient, app_uuid: str) -> None:
    # 1. uuid shape before anything else, even with a broken body.
    r = client.post(mute_url("not-a-uuid"), content=b"{bad")
    assert_problem(r, 400, "Wrong app uuid")
    # 2. unknown app before the body is looked at.
    r = client.post(mute_url(str(uuid.uuid4())), content=b"{bad")
    assert_problem(r, 404, "Not registered application")
    # 3. body before tokens.
    r = client.post(mute_url(app_uuid), content=b"[]")
    assert r.status_code == 400 and r.json()["detail"] == "Request body must be a JSON object"
    # 4. tokens before duration.
    r = client.post(mute_url(app_uuid), json={"token": "", "duration": -1})
    assert_problem(r, 400, "Tokens must be specified")
    # 5. duration type before range.
    r = client.post(mute_url(app_uuid), json={"token": "1", "duration": "x"})
    assert_problem(r, 400, "Duration must be positive int")
    r = client.post(mute_url(app_uuid), json={"token": "1", "duration": 3})
    assert_problem(r, 400, "Duration must be between 5 and 31536000 seconds")


def test_unmute_error_order(client: TestClient) -> None:
    assert_problem(client.post(unmute_url("zzz"), json={}), 400, "Wrong app uuid")
    assert_problem(
        client.post(unmute_url(str(uuid.uuid4())), json={}), 404, "Not registered application"
    )


def test_remute_replaces_shorter_and_longer(client: TestClient, app_uuid: str) -> None:
    client.post(mute_url(app_uuid), json={"token": "9"})
    r = client.post(mute_url(app_uuid), json={"token": "9", "duration": 60})
    short = parse(r.json()["mutedUntil"])
    assert short < datetime.now(UTC) + timedelta(seconds=61)
    assert (
        client.get(mute_url(app_uuid), params={"token": "9"}).json()["mutedUntil"]
        == r.json()["mutedUntil"]
    )
    r = client.post(mute_url(app_uuid), json={"token": "9", "duration": 86400})
    assert parse(r.json()["mutedUntil"]) > short + timedelta(hours=23)
    r = client.post(mute_url(app_uuid), json={"token": "9"})
    assert r.json()["mutedUntil"] == FOREVER


def test_expired_mute_reads_as_not_muted(client: TestClient, app_uuid: str, db: Database) -> None:
    client.post(mute_url(app_uuid), json={"token": "77", "duration": 5})
    # Move the stored expiry into the past instead of sleeping.
    with db.transaction() as conn:
        conn.execute(
            mutes.update().values(
                muted_until=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
            )
        )
    state = client.get(mute_url(app_uuid), params={"token": "77"}).json()
    assert state == {"token": "77", "muted": False, "mutedUntil": None}


def test_unmute(client: TestClient, app_uuid: str) -> None:
    client.post(mute_url(app_uuid), json={"token": "55"})
    r = client.post(unmute_url(app_uuid), json={"token": "55"})
    assert r.status_code == 200
    assert r.json() == {"token": "55", "mutedUntil": None}
    assert client.get(mute_url(app_uuid), params={"token": "55"}).json()["muted"] is False


def test_unmute_not_muted_is_fine(client: TestClient, app_uuid: str) -> None:
    r = client.post(unmute_url(app_uuid), json={"token": "@never_muted"})
    assert r.status_code == 200
    assert r.json() == {"token": "@never_muted", "mutedUntil": None}


def test_bulk_mute_and_unmute(client: TestClient, app_uuid: str) -> None:
    tokens = [str(i) for i in range(1, 1001)]
    r = client.post(mute_url(app_uuid), json={"tokens": tokens, "duration": 600})
    assert r.status_code == 200, r.text
    out = r.json()["tokens"]
    assert [o["token"] for o in out] == tokens
    assert client.get(mute_url(app_uuid), params={"token": "1000"}).json()["muted"]
    r = client.post(unmute_url(app_uuid), json={"tokens": tokens[:500]})
    assert r.status_code == 200
    assert client.get(mute_url(app_uuid), params={"token": "1"}).json()["muted"] is False
    assert client.get(mute_url(app_uuid), params={"token": "501"}).json()["muted"] is True


def test_bulk_over_limit_rejected(client: TestClient, app_uuid: str, db: Database) -> None:
    r = client.post(mute_url(app_uuid), json={"tokens": [str(i) for i in range(1001)]})
    assert r.status_code == 400
    assert "1000" in r.json()["detail"]
    with db.read() as conn:
        assert conn.execute(select(mutes)).first() is None


def test_failed_bulk_changes_nothing(client: TestClient, app_uuid: str, db: Database) -> None:
    r = client.post(mute_url(app_uuid), json={"tokens": ["1", "2", ""], "duration": 60})
    assert_problem(r, 400, "Tokens must be specified")
    r = client.post(mute_url(app_uuid), json={"tokens": ["1", "2"], "duration": 2})
    assert r.status_code == 400
    with db.read() as conn:
        assert conn.execute(select(mutes)).first() is None
        assert conn.execute(select(mute_events)).first() is None


def test_mute_before_token_registered_is_kept(client: TestClient, app_uuid: str) -> None:
    client.post(mute_url(app_uuid), json={"token": "31337", "duration": 3600})
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens", json={"tokens": [{"token": "31337", "email": "a@x.io"}]}
    )
    assert r.status_code == 200, r.text
    rows = client.get(f"/v1/apps/{app_uuid}/tokens").json()
    assert rows[0]["token"] == "31337"
    assert rows[0]["mutedUntil"] is not None


def test_mute_history_recorded(client: TestClient, app_uuid: str, db: Database) -> None:
    client.post(mute_url(app_uuid), json={"token": "8", "duration": 60})
    client.post(mute_url(app_uuid), json={"token": "8"})
    client.post(unmute_url(app_uuid), json={"token": "8"})
    with db.read() as conn:
        events = conn.execute(select(mute_events).order_by(mute_events.c.id)).all()
    assert [e.action for e in events] == ["mute", "mute", "unmute"]
    assert events[0].old_muted_until is None
    assert events[1].old_muted_until == events[0].new_muted_until
    assert events[2].old_muted_until.year == 9999 and events[2].new_muted_until is None
    assert all(e.api_key_id is not None for e in events)


def test_get_mute_state_needs_token(client: TestClient, app_uuid: str) -> None:
    assert_problem(client.get(mute_url(app_uuid)), 400, "Tokens must be specified")


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_prefixes_and_trailing_slash(
    client: TestClient, app_uuid: str, prefix: str, slash: str
) -> None:
    r = client.post(f"{prefix}/apps/{app_uuid}/token/mute{slash}", json={"token": "3"})
    assert r.status_code == 200, r.text
    r = client.post(f"{prefix}/apps/{app_uuid}/token/unmute{slash}", json={"token": "3"})
    assert r.status_code == 200, r.text


def test_basic_auth_with_any_username(client: TestClient, app_uuid: str, api_key: str) -> None:
    basic = base64.b64encode(f"whoever:{api_key}".encode()).decode()
    r = client.post(
        mute_url(app_uuid), json={"token": "1"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200, r.text


def test_other_organisation_sees_unknown_app(
    client: TestClient, app_uuid: str, other_key: str
) -> None:
    h = bearer(other_key)
    for url in (mute_url(app_uuid), unmute_url(app_uuid)):
        assert_problem(
            client.post(url, json={"token": "1"}, headers=h), 404, "Not registered application"
        )
    assert_problem(
        client.get(mute_url(app_uuid), params={"token": "1"}, headers=h),
        404,
        "Not registered application",
    )
    assert client.get(mute_url(app_uuid), params={"token": "1"}).json()["muted"] is False


def test_bulk_mute_history_has_each_chats_previous_mute(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    client.post(mute_url(app_uuid), json={"token": "2", "duration": 60})
    first = client.post(mute_url(app_uuid), json={"token": "4"}).json()["mutedUntil"]
    r = client.post(mute_url(app_uuid), json={"tokens": ["3", "4", 2, "3"], "duration": 600})
    assert r.status_code == 200, r.text
    assert [o["token"] for o in r.json()["tokens"]] == ["3", "4", "2"]
    with db.read() as conn:
        events = conn.execute(select(mute_events).order_by(mute_events.c.id)).all()
        stored = {m.token: m.muted_until for m in conn.execute(select(mutes))}
    bulk = events[2:]
    assert [e.token for e in bulk] == ["3", "4", "2"]
    assert bulk[0].old_muted_until is None
    assert bulk[1].old_muted_until == events[1].new_muted_until
    assert bulk[1].old_muted_until.year == 9999 and first == FOREVER
    assert bulk[2].old_muted_until == events[0].new_muted_until
    assert len({e.new_muted_until for e in bulk}) == 1 and len({e.at for e in bulk}) == 1
    assert all(stored[e.token] == e.new_muted_until for e in bulk)
    assert all(e.action == "mute" and e.api_key_id == events[0].api_key_id for e in bulk)


def test_unknown_or_foreign_app_mutes_nothing(
    client: TestClient, app_uuid: str, other_key: str, db: Database
) -> None:
    for url, headers in (
        (mute_url(str(uuid.uuid4())), {}),
        (mute_url(app_uuid), bearer(other_key)),
    ):
        for body in ({"token": "1"}, {"tokens": ["1", "2"], "duration": 60}, {"token": ""}):
            r = client.post(url, json=body, headers=headers)
            assert_problem(r, 404, "Not registered application")
    with db.read() as conn:
        assert conn.execute(select(mutes)).first() is None
        assert conn.execute(select(mute_events)).first() is None


def test_deleted_app_cannot_be_muted(client: TestClient, app_uuid: str, db: Database) -> None:
    assert client.post(mute_url(app_uuid), json={"token": "1"}).status_code == 200
    assert client.delete(f"/v1/apps/{app_uuid}").status_code in (200, 204)
    assert_problem(
        client.post(mute_url(app_uuid), json={"token": "1"}), 404, "Not registered application"
    )
    with db.read() as conn:
        assert conn.execute(select(mutes)).first() is None
        assert conn.execute(select(mute_events)).first() is None


def test_mute_requests_leave_no_reference_cycles(client: TestClient, app_uuid: str) -> None:
    """The API process collects young garbage rarely (core/collector.py): what a
    request leaves in reference cycles would pile up until a collection walks it all.
    A mute, a read and a rejected body, through the whole ASGI app."""
    for i in range(5):
        client.post(mute_url(app_uuid), json={"token": str(100 + i), "duration": 600})
    with cyclic_garbage() as found:
        for i in range(30):
            r = client.post(mute_url(app_uuid), json={"token": str(200 + i), "duration": 600})
            assert r.status_code == 200, r.text
            assert client.get(mute_url(app_uuid), params={"token": str(200 + i)}).status_code == 200
            assert client.post(mute_url(app_uuid), json={"duration": 600}).status_code == 400
    assert found == []

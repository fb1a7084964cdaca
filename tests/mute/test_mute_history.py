"""GET /v1/apps/{uuid}/token/mute/history: each mute, unmute and expiry of a chat."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.mute.models import mute_events, mutes
from tests.support.service import bearer


def hist(app_uuid: str) -> str:
    return f"/v1/apps/{app_uuid}/token/mute/history"


def test_history_of_mute_remute_unmute(client: TestClient, app_uuid: str) -> None:
    mute = f"/v1/apps/{app_uuid}/token/mute"
    client.post(mute, json={"token": "7", "duration": 3600})
    first = client.post(mute, json={"token": "7"}).json()["mutedUntil"]
    client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "7"})
    client.post(mute, json={"token": "8"})  # another chat
    r = client.get(hist(app_uuid), params={"token": "7"})
    assert r.status_code == 200, r.text
    assert r.headers["TotalCount"] == "3"
    rows = r.json()
    assert [x["kind"] for x in rows] == ["mute", "mute", "unmute"]
    assert rows[0]["from"] is None and rows[0]["to"] is not None
    assert rows[1]["from"] == rows[0]["to"] and rows[1]["to"] == first
    assert rows[2]["from"] == first and rows[2]["to"] is None
    assert all(x["by"] and x["by"].startswith("apiKey:") for x in rows)


def test_expire_entry_for_a_timed_mute_that_ended(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    mute = f"/v1/apps/{app_uuid}/token/mute"
    client.post(mute, json={"token": "9", "duration": 60})
    # Move the mute two minutes into the past: it ended a minute ago.
    past = utcnow() - timedelta(minutes=2)
    with db.transaction() as conn:
        conn.execute(
            update(mute_events).values(at=past, new_muted_until=past + timedelta(seconds=60))
        )
        conn.execute(update(mutes).values(muted_until=past + timedelta(seconds=60)))
    client.post(mute, json={"token": "9", "duration": 60})
    rows = client.get(hist(app_uuid), params={"token": "9"}).json()
    assert [x["kind"] for x in rows] == ["mute", "expire", "mute"]
    assert rows[1]["by"] == "expiry" and rows[1]["from"] == rows[0]["to"]
    # The second mute did not replace a running one.
    assert rows[2]["from"] is None


def test_paging_and_window(client: TestClient, app_uuid: str) -> None:
    mute = f"/v1/apps/{app_uuid}/token/mute"
    for _ in range(5):
        client.post(mute, json={"token": "3"})
    r = client.get(hist(app_uuid), params={"token": "3", "startindex": 2, "maxrows": 2})
    assert r.headers["TotalCount"] == "5" and len(r.json()) == 2
    future = (utcnow() + timedelta(days=1)).isoformat() + "Z"
    r = client.get(hist(app_uuid), params={"token": "3", "from": future})
    assert r.json() == [] and r.headers["TotalCount"] == "0"
    r = client.get(hist(app_uuid), params={"token": "3", "to": future})
    assert r.headers["TotalCount"] == "5"


def test_bad_input(client: TestClient, app_uuid: str) -> None:
    for params in (
        {},
        {"token": ""},
        {"token": "1", "from": "yesterday"},
        {"token": "1", "startindex": 0},
        {"token": "1", "maxrows": 100000},
        {"token": "1", "from": "2030-01-02", "to": "2030-01-01"},
    ):
        r = client.get(hist(app_uuid), params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    bad_app = "00000000-0000-0000-0000-000000000000"
    assert client.get(hist(bad_app), params={"token": "1"}).status_code == 404


def test_isolated_per_organisation(client: TestClient, app_uuid: str, other_key: str) -> None:
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "5"})
    r = client.get(hist(app_uuid), params={"token": "5"}, headers=bearer(other_key))
    assert r.status_code == 404

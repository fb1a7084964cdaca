"""GET /v1/apps/{uuid}/token/mute/history: each mute, unmute and expiry of a chat."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hushcast.bots.models import apps
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.mute import actors
from hushcast.mute import service as mute_service
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


def test_who_made_each_change(client: TestClient, app_uuid: str, db: Database) -> None:
    """The API names the key; other sources (the dashboard, the dialog guard) name
    themselves, as stored in mute_events.source by the mute service."""
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "12"})
    with db.transaction() as conn:
        app_id = conn.execute(select(apps.c.id).where(apps.c.uuid == app_uuid)).scalar_one()
        mute_service.mute(conn, app_id, ["12"], 60, None, source=actors.DIALOG_GUARD)
        mute_service.unmute(conn, app_id, ["12"], 5, source=actors.DASHBOARD)
    rows = client.get(hist(app_uuid), params={"token": "12"}).json()
    by = [x["by"] for x in rows]
    assert by[0].startswith("apiKey:") and by[1:] == ["dialog-guard", "dashboard:5"], by


def test_describe_names_each_source() -> None:
    assert actors.describe(None, 7) == "apiKey:7"
    assert actors.describe(None, None) is None
    assert actors.describe(actors.DASHBOARD, 7) == "dashboard:7"
    assert actors.describe(actors.DIALOG_GUARD, None) == "dialog-guard"


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

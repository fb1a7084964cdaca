"""The policies API and the broadcast's policy fields: shapes, checks, tenancy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.broadcasts import add_message
from tests.support.checks import assert_problem
from tests.support.clock import Clock
from tests.support.service import bearer

NIGHT = {"start": "22:00", "end": "08:00"}


def test_organisation_defaults_round_trip(client: TestClient) -> None:
    assert client.get("/v1/policies").json() == {
        "quietHours": None,
        "frequencyCap": None,
        "timeZone": None,
    }
    body = {
        "quietHours": NIGHT,
        "frequencyCap": {"count": 3, "periodSeconds": 86400},
        "timeZone": "Europe/Kyiv",
    }
    r = client.put("/v1/policies", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == body
    assert client.get("/v1/policies").json() == body
    # A PUT replaces the whole policy.
    assert client.put("/v1/policies", json={}).json()["quietHours"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"quietHours": {"start": "25:00", "end": "08:00"}},
        {"quietHours": {"start": "22:00"}},
        {"quietHours": "22:00-08:00"},
        {"frequencyCap": {"count": -1, "periodSeconds": 3600}},
        {"frequencyCap": {"count": 3, "periodSeconds": 10}},
        {"frequencyCap": {"count": "3", "periodSeconds": 3600}},
        {"timeZone": "Mars/Olympus"},
        {"timeZone": 3},
    ],
)
def test_bad_policies_are_400(client: TestClient, body: dict[str, Any]) -> None:
    assert_problem(client.put("/v1/policies", json=body), 400)
    assert client.get("/v1/policies").json()["quietHours"] is None


def test_not_an_object_is_400(client: TestClient, app_uuid: str) -> None:
    assert_problem(client.put("/v1/policies", content=b"[1]"), 400)
    assert_problem(client.put(f"/v1/apps/{app_uuid}/policies", content=b"nope"), 400)


def test_bot_overrides_and_effective_policy(client: TestClient, app_uuid: str) -> None:
    client.put("/v1/policies", json={"quietHours": NIGHT, "timeZone": "Europe/Kyiv"})
    got = client.get(f"/v1/apps/{app_uuid}/policies").json()
    assert got["quietHours"] is None
    assert got["effective"] == {
        "quietHours": NIGHT,
        "frequencyCap": None,
        "timeZone": "Europe/Kyiv",
    }
    body = {
        "quietHours": {"start": "21:00", "end": "07:30"},
        "frequencyCap": {"count": 2, "periodSeconds": 3600},
    }
    r = client.put(f"/v1/apps/{app_uuid}/policies", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["effective"]["quietHours"] == body["quietHours"]
    assert r.json()["effective"]["frequencyCap"] == body["frequencyCap"]
    # A cap of 0 turns an inherited cap off.
    client.put("/v1/policies", json={"frequencyCap": {"count": 5, "periodSeconds": 3600}})
    r = client.put(
        f"/v1/apps/{app_uuid}/policies", json={"frequencyCap": {"count": 0, "periodSeconds": 60}}
    )
    assert r.json()["effective"]["frequencyCap"] is None
    assert_problem(
        client.put(f"/v1/apps/{app_uuid}/policies", json={"timeZone": "Europe/Kyiv"}), 400
    )
    assert_problem(client.get("/v1/apps/not-a-uuid/policies"), 400)


def test_another_organisations_defaults_never_show(
    client: TestClient, other_key: str, app_uuid: str
) -> None:
    rival = bearer(other_key)
    r = client.put("/v1/policies", json={"quietHours": NIGHT}, headers=rival)
    assert r.status_code == 200
    assert client.get("/v1/policies").json()["quietHours"] is None
    assert client.get(f"/v1/apps/{app_uuid}/policies").json()["effective"]["quietHours"] is None


def test_contact_quiet_hours(client: TestClient) -> None:
    cid = client.post("/v1/contact", json={"email": "q@x.io", "timeZone": "America/New_York"})
    contact = cid.json()["id"]
    got = client.get(f"/v1/contact/{contact}/quiet-hours").json()
    assert got == {"contactId": contact, "quietHours": None, "timeZone": "America/New_York"}
    r = client.put(f"/v1/contact/{contact}/quiet-hours", json={"quietHours": NIGHT})
    assert r.status_code == 200 and r.json()["quietHours"] == NIGHT
    assert_problem(client.put(f"/v1/contact/{contact}/quiet-hours", json={}), 400)
    assert client.delete(f"/v1/contact/{contact}/quiet-hours").status_code == 204
    assert client.get(f"/v1/contact/{contact}/quiet-hours").json()["quietHours"] is None
    assert_problem(client.get("/v1/contact/999999999/quiet-hours"), 404)


# --- the broadcast's fields ----------------------------------------------------------------


def _create(client: TestClient, db: Database, app_uuid: str, **fields: Any) -> Any:
    return client.post(
        "/v1/broadcast", json={"messageId": add_message(db), "appId": app_uuid, **fields}
    )


def test_broadcast_policy_defaults_and_hold(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    r = _create(client, db, app_uuid, startDate="2030-01-02T03:04")
    assert (r.json()["mutePolicy"], r.json()["holdUntil"], r.json()["quietHoursPolicy"]) == (
        "skip",
        None,
        "defer",
    )
    r = _create(client, db, app_uuid, startDate="2030-01-02T03:04", mutePolicy="hold")
    assert r.json()["holdUntil"] == "2030-01-03T03:04:00Z"  # 24 h after the start
    r = _create(
        client,
        db,
        app_uuid,
        startDate="2030-01-02T03:04",
        mutePolicy="HOLD",
        holdUntil="2030-01-05T00:00",
        quietHoursPolicy="ignore",
    )
    assert r.status_code == 200, r.text
    view = client.get(f"/v1/broadcast/{r.json()['broadcastId']}").json()
    assert (view["mutePolicy"], view["holdUntil"], view["quietHoursPolicy"]) == (
        "hold",
        "2030-01-05T00:00:00Z",
        "ignore",
    )
    assert (view["held"], view["waiting"]) == (0, 0)


@pytest.mark.parametrize(
    "fields",
    [
        {"mutePolicy": "drop"},
        {"mutePolicy": 1},
        {"quietHoursPolicy": "later"},
        {"holdUntil": "2030-01-03T00:00"},  # without mutePolicy hold
        {"mutePolicy": "hold", "holdUntil": "2030-01-10T03:05", "startDate": "2030-01-02T03:04"},
        {"mutePolicy": "hold", "holdUntil": "2030-01-02T03:00", "startDate": "2030-01-02T03:04"},
        {"mutePolicy": "hold", "holdUntil": "soon"},
        {"localTime": "10"},
        {"localTime": "10:00", "localDate": "2030-13-01"},
        {"localDate": "2030-01-01"},
        {"localTime": "10:00", "startDate": "2030-01-02T03:04"},
        {"localTime": "10:00", "localDate": "2000-01-01"},
    ],
)
def test_bad_broadcast_policy_fields_are_400(
    client: TestClient, db: Database, app_uuid: str, fields: dict[str, Any]
) -> None:
    assert_problem(_create(client, db, app_uuid, **fields), 400)
    assert client.get("/v1/broadcasts").json() == []


def test_local_time_broadcast_starts_when_the_first_zone_reaches_it(
    client: TestClient, db: Database, app_uuid: str, clock: Clock
) -> None:
    clock.set(datetime(2030, 6, 30, 12, 0))
    r = _create(client, db, app_uuid, localTime="10:00", localDate="2030-07-01")
    assert r.status_code == 200, r.text
    # 10:00 on 1 July comes first at UTC+14: 20:00 UTC on 30 June.
    assert r.json()["startDate"] == "2030-06-30T20:00:00Z"
    assert (r.json()["localTime"], r.json()["localDate"]) == ("10:00", "2030-07-01")
    clock.advance(timedelta(hours=20))  # 08:00 UTC on 1 July: already started
    r = _create(client, db, app_uuid, localTime="10:00", localDate="2030-07-01")
    assert r.json()["startDate"].startswith("2030-07-01T08:00")

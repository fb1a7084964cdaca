"""Broadcast API: create with its checks, list, view with live counters, pause, resume,
cancel; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import status as st
from tests.support.broadcasts import (
    add_delivery,
    add_group,
    add_message,
    connect_bot,
    contact_id,
    delivery_rows,
    parse_iso,
    register,
)
from tests.support.service import bearer


def assert_problem(r: Any, status: int, detail: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == detail


def broadcast_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(broadcasts)).scalar_one())


def set_status(db: Database, broadcast_id: int, **values: Any) -> None:
    with db.transaction() as conn:
        conn.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id).values(**values))


def create(client: TestClient, message_id: int, **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/broadcast", json={"messageId": message_id, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


# --- create ----------------------------------------------------------------------------------


def test_create_defaults_to_the_only_bot_and_message_name(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    mid = add_message(db, name="Spring sale")
    before = utcnow().replace(microsecond=0)
    body = create(client, mid)
    assert body["appId"] == app_uuid
    assert body["title"] == "Spring sale"
    # Yespo's BroadcastView types: the ids are strings.
    assert body["messageId"] == str(mid)
    assert body["status"] == "SCHEDULED"
    assert isinstance(body["broadcastId"], str)
    assert body["startDate"].endswith("Z")
    start = parse_iso(body["startDate"])
    assert before <= start <= utcnow() + timedelta(seconds=1)
    with db.read() as conn:
        row = conn.execute(
            select(broadcasts).where(broadcasts.c.id == int(body["broadcastId"]))
        ).one()
    assert row.status == st.B_SCHEDULED
    assert row.groups is None and row.excluded_groups is None
    assert row.plan_cursor is None and row.planned_at is None
    # Nothing is planned in the request.
    assert delivery_rows(db) == []


def test_create_with_every_field(client: TestClient, db: Database, app_uuid: str) -> None:
    mid = add_message(db)
    register(client, app_uuid, [("101", "c1"), ("102", "c2")])
    g1 = add_group(db, [contact_id(db, "c1")])
    g2 = add_group(db, [contact_id(db, "c2")])
    body = create(
        client,
        mid,
        appId=app_uuid.upper(),
        groups=[g1],
        excludedGroups=[g2],
        title="Campaign",
        startDate="2030-01-02T03:04",
    )
    assert body == {
        "broadcastId": body["broadcastId"],
        "title": "Campaign",
        "messageId": str(mid),
        "groupId": str(g1),
        "appId": app_uuid,
        "startDate": "2030-01-02T03:04:00Z",
        "batchSize": None,
        "batchIntervalUnit": None,
        "status": "SCHEDULED",
        "mutePolicy": "skip",
        "holdUntil": None,
        "quietHoursPolicy": "defer",
        "localTime": None,
        "localDate": None,
    }
    with db.read() as conn:
        row = conn.execute(
            select(broadcasts).where(broadcasts.c.id == int(body["broadcastId"]))
        ).one()
    assert row.groups == [g1] and row.excluded_groups == [g2]


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("2030-01-02T03:04:05", "2030-01-02T03:04:05Z"),
        ("2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z"),
        ("2030-01-02T03:04Z", "2030-01-02T03:04:00Z"),
    ],
)
def test_start_date_forms(
    client: TestClient, db: Database, app_uuid: str, given: str, shown: str
) -> None:
    body = create(client, add_message(db), startDate=given)
    assert body["startDate"] == shown


@pytest.mark.parametrize(
    "value", ["2030-01-02", "2030-13-01T00:00", "2030-01-02 03:04", "tomorrow", 1893456000, ""]
)
def test_bad_start_date(client: TestClient, db: Database, app_uuid: str, value: Any) -> None:
    r = client.post("/v1/broadcast", json={"messageId": add_message(db), "startDate": value})
    assert_problem(r, 400, "startDate must be YYYY-MM-DDTHH:mm")
    assert broadcast_count(db) == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "messageId is required"),
        ({"messageId": "abc"}, "messageId must be a positive integer"),
        ({"messageId": 0}, "messageId must be a positive integer"),
        ({"messageId": True}, "messageId must be a positive integer"),
        ({"messageId": 1, "groups": 5}, "groups must be an array of group ids"),
        ({"messageId": 1, "groups": [1.5]}, "groups must be an array of group ids"),
        ({"messageId": 1, "excludedGroups": ["x"]}, "excludedGroups must be an array of group ids"),
        ({"messageId": 1, "title": 7}, "title must be a string"),
        ({"messageId": 1, "title": "x" * 301}, "title is longer than 300 characters"),
    ],
)
def test_create_shape_errors(
    client: TestClient, db: Database, app_uuid: str, body: dict[str, Any], detail: str
) -> None:
    assert_problem(client.post("/v1/broadcast", json=body), 400, detail)
    assert broadcast_count(db) == 0


def test_body_must_be_json_object(client: TestClient, app_uuid: str) -> None:
    r = client.post("/v1/broadcast", content=b"[1]", headers={"content-type": "application/json"})
    assert_problem(r, 400, "Request body must be a JSON object")


def test_unknown_or_foreign_message(
    client: TestClient, db: Database, app_uuid: str, other_key: str
) -> None:
    foreign = add_message(db, org="rival")
    for mid in (foreign, foreign + 1000):
        r = client.post("/v1/broadcast", json={"messageId": mid})
        assert_problem(r, 404, "Message not found")
    assert broadcast_count(db) == 0


def test_app_checks(
    client: TestClient, db: Database, app_uuid: str, other_key: str, fake_telegram: Any
) -> None:
    mid = add_message(db)
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": "nope"})
    assert_problem(r, 400, "Wrong app uuid")
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": str(uuid.uuid4())})
    assert_problem(r, 404, "Not registered application")
    rival_app = connect_bot(client, fake_telegram, other_key)
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": rival_app})
    assert_problem(r, 404, "Not registered application")
    # The message is checked before the app.
    r = client.post("/v1/broadcast", json={"messageId": mid + 999, "appId": "nope"})
    assert_problem(r, 404, "Message not found")
    assert broadcast_count(db) == 0


def test_no_bot_then_several_bots(client: TestClient, db: Database, fake_telegram: Any) -> None:
    mid = add_message(db)
    r = client.post("/v1/broadcast", json={"messageId": mid})
    assert r.status_code == 400
    assert "no bots" in r.json()["detail"]
    first = connect_bot(client, fake_telegram)
    second = connect_bot(client, fake_telegram)
    r = client.post("/v1/broadcast", json={"messageId": mid})
    assert_problem(r, 400, "appId is required when the organisation has several bots")
    assert broadcast_count(db) == 0
    assert create(client, mid, appId=second)["appId"] == second
    assert create(client, mid, appId=first)["appId"] == first


def test_unknown_groups_listed(
    client: TestClient, db: Database, app_uuid: str, other_key: str
) -> None:
    mid = add_message(db)
    mine = add_group(db, [])
    foreign = add_group(db, [], org="rival")
    r = client.post(
        "/v1/broadcast",
        json={"messageId": mid, "groups": [mine, 99999], "excludedGroups": [foreign]},
    )
    assert_problem(r, 400, f"Unknown groups: {foreign}, 99999")
    assert broadcast_count(db) == 0


def test_title_empty_falls_back_to_message_name(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    assert create(client, add_message(db, name="N"), title="  ")["title"] == "N"


# --- list and view ---------------------------------------------------------------------------


def test_list_paging_and_total(
    client: TestClient, db: Database, app_uuid: str, other_key: str
) -> None:
    mid = add_message(db)
    ids = [int(create(client, mid, title=f"b{i}")["broadcastId"]) for i in range(12)]
    r = client.get("/v1/broadcasts")
    assert r.status_code == 200
    assert r.headers["TotalCount"] == "12"
    items = r.json()
    assert len(items) == 10  # default maxrows
    assert [int(b["broadcastId"]) for b in items] == ids[::-1][:10]  # newest first
    assert items[0]["totalContacts"] == 0 and items[0]["status"] == "SCHEDULED"
    r = client.get("/v1/broadcasts", params={"startindex": 11, "maxrows": 5})
    assert [int(b["broadcastId"]) for b in r.json()] == ids[::-1][10:]
    assert client.get("/v1/broadcasts", params={"maxrows": 501}).status_code == 400
    assert client.get("/v1/broadcasts", params={"startindex": 0}).status_code == 400
    rival = client.get("/v1/broadcasts", headers=bearer(other_key))
    assert rival.json() == [] and rival.headers["TotalCount"] == "0"


def test_view_counters(client: TestClient, db: Database, app_uuid: str) -> None:
    mid = add_message(db)
    bid = int(create(client, mid)["broadcastId"])
    other = int(create(client, mid)["broadcastId"])
    statuses = [
        st.IN_QUEUE,
        st.IN_QUEUE,
        st.SENDING,
        st.DELIVERED,
        st.DELIVERED,
        st.DELIVERED,
        st.CLICKED,
        st.UNAVAILABLE,
        st.ERROR,
        st.ERROR,
        st.CANCELLED,
    ]
    for i, status in enumerate(statuses):
        add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=str(i), status=status, broadcast_id=bid
        )
    add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="x", status=st.ERROR, broadcast_id=other
    )
    body = client.get(f"/v1/broadcast/{bid}").json()
    assert {k: body[k] for k in body if k not in ("createdAt", "startDate")} == {
        "broadcastId": str(bid),
        "title": "Spring sale",
        "messageId": str(mid),
        "groupId": None,
        "appId": app_uuid,
        "batchSize": None,
        "batchIntervalUnit": None,
        "status": "SCHEDULED",
        "startedAt": None,
        "finishedAt": None,
        "totalContacts": 11,
        "inQueue": 3,
        "delivered": 4,
        "clicked": 1,
        "unavailable": 1,
        "errors": 2,
        "cancelled": 1,
        "held": 0,
        "waiting": 0,
        "mutePolicy": "skip",
        "holdUntil": None,
        "quietHoursPolicy": "defer",
        "localTime": None,
        "localDate": None,
    }
    assert body["createdAt"].endswith("Z")
    listed = {int(b["broadcastId"]): b for b in client.get("/v1/broadcasts").json()}
    assert listed[bid]["totalContacts"] == 11 and listed[bid]["delivered"] == 4
    assert listed[other]["totalContacts"] == 1 and listed[other]["errors"] == 1


def test_unknown_broadcast(client: TestClient, app_uuid: str) -> None:
    assert_problem(client.get("/v1/broadcast/424242"), 404, "Broadcast not found")
    assert_problem(client.delete("/v1/broadcast/424242"), 404, "Broadcast not found")
    assert_problem(client.post("/v1/broadcast/424242/pause"), 404, "Broadcast not found")
    assert_problem(client.post("/v1/broadcast/424242/resume"), 404, "Broadcast not found")


# --- transitions -----------------------------------------------------------------------------


def test_pause_and_resume_before_start(client: TestClient, db: Database, app_uuid: str) -> None:
    bid = int(create(client, add_message(db))["broadcastId"])
    r = client.post(f"/v1/broadcast/{bid}/pause")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "PAUSED"
    assert client.post(f"/v1/broadcast/{bid}/pause").status_code == 409
    r = client.post(f"/v1/broadcast/{bid}/resume")
    assert r.json()["status"] == "SCHEDULED"  # it had not started
    assert client.post(f"/v1/broadcast/{bid}/resume").status_code == 409


def test_pause_and_resume_running(client: TestClient, db: Database, app_uuid: str) -> None:
    bid = int(create(client, add_message(db))["broadcastId"])
    set_status(db, bid, status=st.B_RUNNING, started_at=utcnow())
    assert client.post(f"/v1/broadcast/{bid}/pause").json()["status"] == "PAUSED"
    body = client.post(f"/v1/broadcast/{bid}/resume").json()
    assert body["status"] == "RUNNING"
    assert body["startedAt"] is not None


@pytest.mark.parametrize("final", [st.B_FINISHED, st.B_CANCELLED])
def test_no_pause_or_resume_when_over(
    client: TestClient, db: Database, app_uuid: str, final: str
) -> None:
    bid = int(create(client, add_message(db))["broadcastId"])
    set_status(db, bid, status=final)
    r = client.post(f"/v1/broadcast/{bid}/pause")
    assert r.status_code == 409
    assert r.json()["detail"].startswith(f"Broadcast is {final}")
    assert client.post(f"/v1/broadcast/{bid}/resume").status_code == 409
    assert client.get(f"/v1/broadcast/{bid}").json()["status"] == final


def test_cancel_turns_queued_rows_cancelled(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    mid = add_message(db)
    bid = int(create(client, mid)["broadcastId"])
    other = int(create(client, mid)["broadcastId"])
    set_status(db, bid, status=st.B_RUNNING, started_at=utcnow())
    for token, status in (("1", st.IN_QUEUE), ("2", st.IN_QUEUE), ("3", st.SENDING)):
        add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=token, status=status, broadcast_id=bid
        )
    add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="4", status=st.DELIVERED, broadcast_id=bid
    )
    add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="5", status=st.IN_QUEUE, broadcast_id=other
    )
    r = client.delete(f"/v1/broadcast/{bid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "CANCELLED"
    assert body["finishedAt"] is not None
    assert body["cancelled"] == 2 and body["inQueue"] == 1 and body["delivered"] == 1
    rows = {r.token: r for r in delivery_rows(db, broadcast_id=bid)}
    assert rows["1"].status == rows["2"].status == st.CANCELLED
    assert rows["1"].finished_at is not None
    assert rows["3"].status == st.SENDING and rows["4"].status == st.DELIVERED
    assert delivery_rows(db, broadcast_id=other)[0].status == st.IN_QUEUE
    assert_problem(client.delete(f"/v1/broadcast/{bid}"), 409, "Broadcast already cancelled")
    assert client.post(f"/v1/broadcast/{bid}/resume").status_code == 409


def test_cancel_paused_and_finished(client: TestClient, db: Database, app_uuid: str) -> None:
    mid = add_message(db)
    paused = int(create(client, mid)["broadcastId"])
    client.post(f"/v1/broadcast/{paused}/pause")
    assert client.delete(f"/v1/broadcast/{paused}").json()["status"] == "CANCELLED"
    done = int(create(client, mid)["broadcastId"])
    set_status(db, done, status=st.B_FINISHED)
    assert_problem(client.delete(f"/v1/broadcast/{done}"), 409, "Broadcast already finished")


def test_other_organisation_gets_404_and_changes_nothing(
    client: TestClient, db: Database, app_uuid: str, other_key: str
) -> None:
    mid = add_message(db)
    bid = int(create(client, mid)["broadcastId"])
    add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="1", status=st.IN_QUEUE, broadcast_id=bid
    )
    rival = bearer(other_key)
    assert_problem(client.get(f"/v1/broadcast/{bid}", headers=rival), 404, "Broadcast not found")
    for path in (f"/v1/broadcast/{bid}/pause", f"/v1/broadcast/{bid}/resume"):
        assert_problem(client.post(path, headers=rival), 404, "Broadcast not found")
    assert_problem(client.delete(f"/v1/broadcast/{bid}", headers=rival), 404, "Broadcast not found")
    body = client.get(f"/v1/broadcast/{bid}").json()
    assert body["status"] == "SCHEDULED" and body["inQueue"] == 1
    # Nor may the rival broadcast our message.
    assert_problem(
        client.post("/v1/broadcast", json={"messageId": mid}, headers=rival),
        404,
        "Message not found",
    )


def test_api_v1_prefix(client: TestClient, db: Database, app_uuid: str) -> None:
    r = client.post("/api/v1/broadcast", json={"messageId": add_message(db)})
    assert r.status_code == 200
    assert client.get(f"/api/v1/broadcast/{r.json()['broadcastId']}").status_code == 200

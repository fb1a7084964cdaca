"""POST /v1/broadcast as Yespo clients send NewBroadcastRequest, the BroadcastView they
read back, and batchSize / batchIntervalUnit honoured by planning."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hushcast.broadcasts import planner
from hushcast.core.db import Database
from hushcast.core.errors import BadRequest
from hushcast.delivery.models import deliveries
from hushcast.yespo import throttle
from tests.support.broadcasts import add_group, add_message, contact_id, deactivate, register

NOW = datetime(2030, 5, 6, 7, 8, 9)


def test_new_broadcast_request_and_broadcast_view(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("8101", "x1")])
    gid = client.post("/v1/groups", json={"name": "All"}).json()["id"]
    excluded = client.post("/v1/groups", json={"name": "None"}).json()["id"]
    mid = add_message(db)
    body = {
        "messageId": mid,
        "title": "Spring",
        "groups": [gid],
        "excludedGroups": [excluded],
        "startDate": "2030-01-02T10:00",
        "batchSize": 1000,
        "batchIntervalUnit": "HOUR",
        "appId": app_uuid,
    }
    r = client.post("/api/v1/broadcast", json=body)
    assert r.status_code == 200, r.text
    view = r.json()
    # Yespo's BroadcastView types: the three ids are strings.
    assert isinstance(view["broadcastId"], str) and int(view["broadcastId"]) > 0
    expected = {
        "title": "Spring",
        "messageId": str(mid),
        "groupId": str(gid),
        "batchSize": 1000,
        "batchIntervalUnit": "HOUR",
    }
    assert {k: view[k] for k in expected} == expected
    assert view["startDate"].startswith("2030-01-02T10:00")
    listed = client.get("/api/v1/broadcasts").json()[0]
    assert {k: listed[k] for k in expected} == expected
    one = client.get(f"/v1/broadcast/{view['broadcastId']}").json()
    assert {k: one[k] for k in expected} == expected


def test_unthrottled_broadcast_shows_nulls(client: TestClient, db: Database, app_uuid: str) -> None:
    r = client.post("/v1/broadcast", json={"messageId": add_message(db), "appId": app_uuid})
    assert r.status_code == 200
    assert r.json()["batchSize"] is None and r.json()["batchIntervalUnit"] is None
    assert r.json()["groupId"] is None


def test_throttle_errors(client: TestClient, db: Database, app_uuid: str) -> None:
    mid = add_message(db)
    cases = [
        ({"batchSize": 10, "batchIntervalUnit": "WEEK"}, throttle.BAD_UNIT),
        ({"batchSize": 10}, throttle.BAD_UNIT),
        ({"batchSize": 0, "batchIntervalUnit": "DAY"}, throttle.BAD_SIZE),
        ({"batchIntervalUnit": "DAY"}, throttle.SIZE_REQUIRED),
    ]
    for extra, detail in cases:
        r = client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid, **extra})
        assert r.status_code == 400, extra
        assert r.json()["detail"] == detail


def test_planning_spreads_recipients_over_intervals(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [(f"820{i}", f"c{i}") for i in range(1, 7)])
    deactivate(db, app_uuid, ["8203"])  # never sent: takes no slot
    gid = add_group(db, [contact_id(db, f"c{i}") for i in range(1, 7)])
    r = client.post(
        "/v1/broadcast",
        json={
            "messageId": add_message(db),
            "appId": app_uuid,
            "groups": [gid],
            "batchSize": 2,
            "batchIntervalUnit": "HOUR",
        },
    )
    bid = int(r.json()["broadcastId"])
    # Batches of 2 tokens, all at the same instant: the positions carry across batches.
    done = False
    while not done:
        with db.transaction() as conn:
            done = planner.plan_batch(conn, bid, NOW, batch_size=2)
    with db.read() as conn:
        rows = conn.execute(
            select(deliveries.c.token, deliveries.c.available_at)
            .where(deliveries.c.broadcast_id == bid, deliveries.c.status == "IN_QUEUE")
            .order_by(deliveries.c.id)
        ).all()
    hour = timedelta(hours=1)
    assert [(t, a) for t, a in rows] == [
        ("8201", NOW),
        ("8202", NOW),
        ("8204", NOW + hour),
        ("8205", NOW + hour),
        ("8206", NOW + 2 * hour),
    ]


def test_window_arithmetic() -> None:
    start = datetime(2030, 1, 31, 12, 0)
    assert throttle.window_start(start, "MONTH", 1) == datetime(2030, 2, 28, 12, 0)
    assert throttle.window_start(start, "MONTH", 13) == datetime(2031, 2, 28, 12, 0)
    assert throttle.window_start(start, "DAY", 2) == datetime(2030, 2, 2, 12, 0)
    assert throttle.window_start(start, "MINUTE", 3) == datetime(2030, 1, 31, 12, 3)
    assert throttle.windows(start, "MINUTE", 3, 2, 5) == [
        (0, 1, start),
        (1, 3, start + timedelta(minutes=1)),
        (4, 1, start + timedelta(minutes=2)),
    ]
    assert throttle.parse({"batchSize": "5", "batchIntervalUnit": "day"}) == (5, "DAY")
    assert throttle.parse({}) is None


def test_batch_size_digits_are_ascii_only() -> None:
    assert throttle.parse({"batchSize": "12", "batchIntervalUnit": "DAY"}) == (12, "DAY")
    with pytest.raises(BadRequest, match=throttle.BAD_SIZE):
        throttle.parse({"batchSize": "١٢", "batchIntervalUnit": "DAY"})

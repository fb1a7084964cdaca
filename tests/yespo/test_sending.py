"""smartsend as Yespo clients send it, and the legacy POST /v1/message/{id}/send."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from hushcast.core.db import Database
from hushcast.delivery.models import deliveries
from tests.support.broadcasts import add_message, contact_id, register


def test_smartsend_yespo_telegram_example_body(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("7001", "y-1"), ("7002", "y-2")])
    mid = add_message(db)
    cid = contact_id(db, "y-1")
    # Yespo's documented Telegram example, plus the other two recipient kinds, fromName
    # and languageCode (accepted; see README for language versions).
    body = {
        "recipients": [
            {"jsonParam": None, "contactId": cid},
            {"externalCustomerId": "y-2", "jsonParam": '{"order": "A-1"}', "languageCode": "uk"},
            {"locator": "7001", "externalRequestId": "r-1"},
        ],
        "email": False,
        "fromName": "Shop",
    }
    r = client.post(f"/api/v1/message/{mid}/smartsend", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["OK", "OK", "OK"]
    assert [x["locator"] for x in results] == ["7001", "7002", "7001"]
    ids = ",".join(x["requestId"] for x in results)
    s = client.get("/api/v1/message/status", params={"ids": ids}).json()["results"]
    assert [x["status"] for x in s] == ["IN_QUEUE"] * 3


def test_smartsend_email_true_says_what_to_do(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("7003", "y-3")])
    mid = add_message(db)
    r = client.post(
        f"/v1/message/{mid}/smartsend",
        json={"recipients": [{"locator": "7003"}], "email": True},
    )
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "email must be false: this service sends Telegram messages only, never e-mail "
        "(send email=false or leave it out; recipients are chat ids, contactIds or "
        "externalCustomerIds)"
    )


def test_legacy_send_with_params_recipients_and_contact_id(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("7101", "l-1"), ("7102", "l-2")])
    mid = add_message(db)
    body = {
        "recipients": ["7101"],
        "contactId": contact_id(db, "l-2"),
        "email": False,
        "fromName": "Shop",
        "params": [{"key": "order", "value": "A-17"}, {"key": "sum", "value": "10"}],
    }
    r = client.post(f"/api/v1/message/{mid}/send", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["locator"], x["status"]) for x in results] == [("7101", "OK"), ("7102", "OK")]
    with db.read() as conn:
        params = [
            json.loads(p)
            for p in conn.execute(
                select(deliveries.c.json_param).order_by(deliveries.c.id)
            ).scalars()
        ]
    assert params == [{"order": "A-17", "sum": "10"}] * 2


def test_legacy_send_to_group_names_broadcast(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    mid = add_message(db)
    r = client.post(f"/v1/message/{mid}/send", json={"groupId": 3, "params": []})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "groupId: sending a message to a group is a broadcast here: "
        'POST /v1/broadcast with {"messageId", "groups": [groupId]}'
    )
    r = client.post(f"/v1/message/{mid}/send", json={"params": []})
    assert r.status_code == 400
    assert "smartsend" in r.json()["detail"]
    assert client.post("/v1/message/99999/send", json={"recipients": ["1"]}).status_code == 404

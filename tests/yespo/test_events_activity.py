"""Events (POST /v1/event, /v2/event) and activity (GET /v2/contacts/activity,
/v2/contacts/messages) as reporting tools and Yespo clients call them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from hushcast.core.db import Database
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from tests.support.broadcasts import add_message, app_id, contact_id, org_id, register

DAY = datetime(2030, 3, 4, 10, 0)


def finished(
    db: Database, app_uuid: str, message_id: int, cid: int, status: str, **extra: Any
) -> int:
    with db.transaction() as conn:
        return int(
            conn.execute(
                insert(deliveries)
                .values(
                    organization_id=org_id(db, "acme"),
                    app_id=app_id(db, app_uuid),
                    message_id=message_id,
                    kind=st.KIND_SMARTSEND,
                    priority=0,
                    token="t",
                    contact_id=cid,
                    status=status,
                    attempts=1,
                    available_at=DAY,
                    created_at=DAY,
                    finished_at=DAY,
                    **extra,
                )
                .returning(deliveries.c.id)
            ).scalar_one()
        )


def test_event_v1_and_v2_stored_and_shown_in_contact_activity(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("9001", "ev-1")])
    cid = contact_id(db, "ev-1")
    v1 = {
        "eventTypeKey": "orderCreated",
        "keyValue": "A-17",
        "params": [{"name": "ExternalCustomerId", "value": "ev-1"}, {"name": "sum", "value": "10"}],
    }
    r = client.post("/api/v1/event", json=v1)
    assert r.status_code == 200, r.text
    v2 = {
        "eventTypeKey": "cartAbandoned",
        "keyValue": "c-1",
        "params": [{"name": "TelegramBotToken", "value": "9001"}],
    }
    assert client.post("/api/v2/event", json=v2).status_code == 200
    # An event naming no known contact is kept too.
    anon = {"eventTypeKey": "visit", "params": [{"name": "EmailAddress", "value": "n@x.io"}]}
    assert client.post("/v2/event", json=anon).status_code == 200

    events = client.get(f"/v1/contact/{cid}/activity").json()["events"]
    assert [(e["eventTypeKey"], e["keyValue"]) for e in events] == [
        ("cartAbandoned", "c-1"),
        ("orderCreated", "A-17"),
    ]
    assert events[1]["params"][1] == {"name": "sum", "value": "10"}


def test_event_errors(client: TestClient) -> None:
    r = client.post("/v1/event", json={"params": []})
    assert r.status_code == 400 and r.json()["detail"] == "eventTypeKey must be specified"
    r = client.post("/v1/event", json={"eventTypeKey": "x", "params": [{"value": 1}]})
    assert r.status_code == 400
    assert r.json()["detail"] == "params[0] must be an object with name and value"


def test_contacts_activity_statuses_and_cursor(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    register(client, app_uuid, [("9101", "ac-1")])
    cid = contact_id(db, "ac-1")
    mid = add_message(db)
    finished(db, app_uuid, mid, cid, st.DELIVERED, external_request_id="r-1")
    finished(db, app_uuid, mid, cid, st.CLICKED, clicked_at=DAY + timedelta(minutes=5))
    finished(
        db,
        app_uuid,
        mid,
        cid,
        st.ERROR,
        error_type=st.ERRORS,
        error_name=st.BOT_SEND_ERROR,
        description="Forbidden: bot was blocked by the user",
    )
    finished(
        db,
        app_uuid,
        mid,
        cid,
        st.UNAVAILABLE,
        error_type=st.OTHER_ERRORS,
        error_name=st.CHANNEL_WAS_MUTED,
    )
    params = {"dateFrom": "2030-03-04", "dateTo": "2030-03-04", "maxrows": 3}
    r = client.get("/api/v2/contacts/activity", params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [a["activityStatus"] for a in page] == ["DELIVERED", "CLICKED", "UNDELIVERED"]
    first = page[0]
    assert first["mediaType"] == "telegrambot"
    assert first["contactId"] == cid and first["externalCustomerId"] == "ac-1"
    assert first["externalRequestId"] == "r-1" and first["messageId"] == mid
    assert first["activityDateTime"] == "2030-03-04T10:00:00Z"
    assert page[1]["activityDateTime"] == "2030-03-04T10:05:00Z"
    assert page[2]["statusDescription"] == "BOT_SEND_ERROR: Forbidden: bot was blocked by the user"
    rest = client.get(
        "/api/v2/contacts/activity", params={**params, "offset": page[-1]["offset"]}
    ).json()
    assert [(a["activityStatus"], a["statusDescription"]) for a in rest] == [
        ("UNDELIVERED", "CHANNEL_WAS_MUTED")
    ]
    only = client.get(
        "/v2/contacts/activity", params={**params, "activityStatus": "CLICKED"}
    ).json()
    assert [a["activityStatus"] for a in only] == ["CLICKED"]
    other_day = {"dateFrom": "2030-03-05", "dateTo": "2030-03-06"}
    assert client.get("/v2/contacts/activity", params=other_day).json() == []
    r = client.get("/v2/contacts/activity")
    assert r.status_code == 400
    assert r.json()["detail"] == "dateFrom and dateTo are required (YYYY-MM-DD or YYYY-MM-DDTHH:mm)"


def test_contact_messages(client: TestClient, db: Database, app_uuid: str) -> None:
    register(client, app_uuid, [("9201", "cm-1"), ("9202", "cm-2")])
    mid = add_message(db)
    finished(db, app_uuid, mid, contact_id(db, "cm-1"), st.DELIVERED)
    finished(db, app_uuid, mid, contact_id(db, "cm-2"), st.DELIVERED)
    params = {
        "dateFrom": "2030-03-04T00:00",
        "dateTo": "2030-03-05T00:00",
        "externalCustomerId": "cm-1",
        "channelTypes": "email,telegrambot",
    }
    r = client.get("/api/v2/contacts/messages", params=params)
    assert r.status_code == 200, r.text
    assert [(m["channelType"], m["activityStatus"]) for m in r.json()] == [
        ("telegrambot", "DELIVERED")
    ]
    assert (
        client.get("/v2/contacts/messages", params={**params, "channelTypes": "sms"}).json() == []
    )
    r = client.get(
        "/v2/contacts/messages", params={"dateFrom": "2030-03-04", "dateTo": "2030-03-04"}
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "One of contactId, externalCustomerId, email, phone is required"


def test_event_never_links_another_organisations_contact(
    client: TestClient, other_key: str
) -> None:
    cid = client.post("/v1/contact", json={"externalCustomerId": "mine"}).json()["id"]
    body = {"eventTypeKey": "x", "params": [{"name": "ExternalCustomerId", "value": "mine"}]}
    r = client.post("/v1/event", json=body, headers={"Authorization": f"Bearer {other_key}"})
    assert r.status_code == 200
    assert client.get(f"/v1/contact/{cid}/activity").json()["events"] == []

"""Delivery events are recorded as references to their delivery rows (the worker's
outcome write builds no bodies); the dispatcher builds each body when it sends it. What
arrives is the full event, also when the bot or the contact was deleted in between."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import repository as delivery_repo
from hushcast.delivery.models import deliveries
from hushcast.webhooks import events as ev
from hushcast.webhooks import outbox
from hushcast.webhooks.models import webhook_outbox
from tests.support.broadcasts import add_delivery, add_message, app_id, contact_id, register
from tests.support.receiver import Receiver
from tests.support.webhooks import dispatch_until, make_webhook


def _delivered(client: TestClient, db: Database, app_uuid: str, receiver: Receiver) -> int:
    """A delivery to chat 77 (contact ext-77) with its DELIVERED outcome written as the
    worker writes it; returns the delivery id."""
    hook = make_webhook(client, receiver.url, ["delivery"])
    receiver.secret = hook["secret"]
    register(client, app_uuid, [("77", "ext-77")])
    did = add_delivery(
        db, app_uuid=app_uuid, message_id=add_message(db), token="77", status="SENDING"
    )
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == did)
            .values(contact_id=contact_id(db, "ext-77"))
        )
    outcome = {
        "b_id": did,
        "b_status": "DELIVERED",
        "b_error_type": None,
        "b_error_name": None,
        "b_description": None,
        "b_message_id": 4242,
        "b_finished_at": utcnow(),
        "b_attempts": 1,
        "b_available_at": utcnow(),
        "b_token": "77",
    }
    with db.transaction() as conn:
        delivery_repo.record_outcomes(conn, [outcome])
        outbox.record_outcomes(conn, app_id(db, app_uuid), [outcome])
    return did


def _outbox(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(webhook_outbox)))


def test_the_outcome_write_stores_a_reference_and_the_body_is_built_when_sent(
    client: TestClient, db: Database, app_uuid: str, receiver: Receiver
) -> None:
    did = _delivered(client, db, app_uuid, receiver)
    (row,) = _outbox(db)
    assert row.payload is None and row.delivery_id == did and row.type == "delivery"
    dispatch_until(db, lambda: len(receiver.events()) >= 1)
    (event,) = receiver.events()
    assert event["id"] == row.event_id == ev.delivery_event_id(did, "DELIVERED")
    assert event["occurredAt"] == ev.iso_ms(row.occurred_at)
    assert {k: event.get(k) for k in ("type", "status", "chatId", "appUuid")} == {
        "type": "delivery",
        "status": "DELIVERED",
        "chatId": "77",
        "appUuid": app_uuid,
    }
    assert event["telegramMessageId"] == 4242 and event["deliveryId"] == did
    assert event["externalCustomerId"] == "ext-77" and event["contactId"] > 0
    assert "errorName" not in event
    assert receiver.bad_signatures == 0


def test_a_bot_deleted_before_the_send_keeps_its_events_whole(
    client: TestClient, db: Database, app_uuid: str, receiver: Receiver
) -> None:
    did = _delivered(client, db, app_uuid, receiver)
    assert client.delete(f"/v1/apps/{app_uuid}").status_code in (200, 204)
    with db.read() as conn:
        assert conn.execute(select(deliveries).where(deliveries.c.id == did)).first() is None
    (row,) = _outbox(db)
    assert row.payload is not None  # built in the deletion's transaction
    dispatch_until(db, lambda: len(receiver.events()) >= 1)
    (event,) = receiver.events()
    assert event["appUuid"] == app_uuid and event["externalCustomerId"] == "ext-77"
    assert event["status"] == "DELIVERED" and event["deliveryId"] == did


def test_a_contact_deleted_before_the_send_keeps_its_identifiers_in_the_event(
    client: TestClient, db: Database, app_uuid: str, receiver: Receiver
) -> None:
    _delivered(client, db, app_uuid, receiver)
    cid = contact_id(db, "ext-77")
    assert client.delete(f"/v1/contact/{cid}").status_code == 200
    dispatch_until(db, lambda: len(receiver.events()) >= 1)
    (event,) = receiver.events()
    assert event["externalCustomerId"] == "ext-77" and event["contactId"] == cid


def test_an_unknown_contact_deletion_builds_nothing(
    client: TestClient, db: Database, app_uuid: str, receiver: Receiver
) -> None:
    _delivered(client, db, app_uuid, receiver)
    assert client.delete("/v1/contact/999999999").status_code == 404
    (row,) = _outbox(db)
    assert row.payload is None


def test_a_delivery_row_gone_without_warning_still_sends_what_the_outbox_knows(
    client: TestClient, db: Database, app_uuid: str, receiver: Receiver
) -> None:
    did = _delivered(client, db, app_uuid, receiver)
    with db.transaction() as conn:
        conn.execute(delete(deliveries).where(deliveries.c.id == did))
    dispatch_until(db, lambda: len(receiver.events()) >= 1)
    (event,) = receiver.events()
    assert event["id"] == ev.delivery_event_id(did, "DELIVERED")
    assert event["type"] == "delivery" and event["deliveryId"] == did
    assert _outbox(db) == []

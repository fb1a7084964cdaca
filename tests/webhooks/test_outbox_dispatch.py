"""Events written with their change, POSTed by the dispatcher to a real receiver that
verifies signatures and fails the first calls: every event arrives, duplicates keep
their id, order holds; failures back off, then events are marked FAILED."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.mute.models import mutes
from hushcast.webhooks.config import WebhookSettings
from hushcast.webhooks.models import webhook_outbox
from tests.support.receiver import Receiver
from tests.support.webhooks import dispatch_until, make_webhook


def outbox_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(webhook_outbox)).scalar_one())


def test_mute_events_written_with_the_mute_and_delivered(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    hook = make_webhook(client, receiver.url, ["mute"])
    receiver.secret = hook["secret"]
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": ["1", "2"], "duration": 600})
    client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "1"})
    # A rejected request records nothing.
    assert (
        client.post(
            f"/v1/apps/{app_uuid}/token/mute", json={"token": "3", "duration": 1}
        ).status_code
        == 400
    )
    assert outbox_rows(db) == 3
    dispatch_until(db, lambda: len(receiver.events()) >= 3)
    events = receiver.events()
    assert [(e["action"], e["chatId"]) for e in events] == [
        ("muted", "1"),
        ("muted", "2"),
        ("unmuted", "1"),
    ]
    assert all(e["type"] == "mute" and e["appUuid"] == app_uuid for e in events)
    assert events[0]["mutedUntil"] and "mutedUntil" not in events[2]
    assert len({e["id"] for e in events}) == 3
    assert receiver.bad_signatures == 0
    assert outbox_rows(db) == 0


def test_no_webhook_no_rows_and_other_events_not_recorded(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver, other_key: str
) -> None:
    from tests.support.service import bearer

    # The other organisation's webhook hears nothing of this one's mutes.
    r = client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["mute"]}, headers=bearer(other_key)
    )
    assert r.status_code == 201
    make_webhook(client, receiver.url, ["delivery"])  # not subscribed to mutes
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1"})
    assert outbox_rows(db) == 0


def test_subscriber_events(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    hook = make_webhook(client, receiver.url, ["subscriber"])
    receiver.secret = hook["secret"]
    url = f"/v1/apps/{app_uuid}/tokens"
    r = client.post(url, json={"tokens": [{"token": "11", "email": "a@x.io"}]})
    assert r.status_code == 200, r.text
    client.post(url, json={"tokens": [{"token": "11", "email": "b@x.io"}]})  # moved
    client.post(url, json={"tokens": [{"token": "11", "email": "b@x.io"}]})  # unchanged
    dispatch_until(db, lambda: len(receiver.events()) >= 2)
    added, moved = receiver.events()
    assert added["action"] == "added" and added["email"] == "a@x.io" and added["chatId"] == "11"
    assert moved["action"] == "moved" and moved["email"] == "b@x.io"
    assert moved["previousContactId"] == added["contactId"]


def test_subscriber_deactivated_and_reactivated_events(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    """Yespo's activation API deactivates and reactivates a token; registering a
    deactivated token again reactivates it. Each change is one event; no change, none."""
    url = f"/v1/apps/{app_uuid}/tokens"
    r = client.post(url, json={"tokens": [{"token": "21", "externalCustomerId": "s-21"}]})
    assert r.status_code == 200, r.text
    hook = make_webhook(client, receiver.url, ["subscriber"])
    receiver.secret = hook["secret"]
    activation = f"/v1/contact/token/activated/{app_uuid}/21"
    for active in (False, False, True, False):  # the second False changes nothing
        r = client.put(activation, json={"active": active})
        assert r.status_code == 200 and r.json() == {"active": active}, r.text
    client.post(url, json={"tokens": [{"token": "21", "externalCustomerId": "s-21"}]})
    dispatch_until(db, lambda: len(receiver.events()) >= 4)
    events = receiver.events()
    assert [e["action"] for e in events] == [
        "deactivated",
        "reactivated",
        "deactivated",
        "reactivated",
    ]
    assert all(e["chatId"] == "21" and e["externalCustomerId"] == "s-21" for e in events)
    assert events[0]["reason"] == "Deactivated via the API"
    assert len({e["id"] for e in events}) == 4 and receiver.bad_signatures == 0


def test_failing_receiver_gets_everything_in_order_with_same_ids(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    hook = make_webhook(client, receiver.url, ["mute"])
    receiver.secret = hook["secret"]
    receiver.fail_first = 3
    tokens = [str(i) for i in range(1, 251)]
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": tokens})
    client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"tokens": tokens[:10]})
    cfg = WebhookSettings()
    dispatch_until(db, lambda: len(receiver.events()) >= 260, cfg=cfg)
    events = receiver.events()
    assert receiver.calls == 3 + 3  # 100 + 100 + 60 after three refusals
    assert max(len(b["events"]) for b in receiver.bodies) == 100
    per_chat: dict[str, list[str]] = {}
    for e in events:
        per_chat.setdefault(e["chatId"], []).append(e["action"])
    assert all(per_chat[t] == ["muted", "unmuted"] for t in tokens[:10])
    assert [e["chatId"] for e in events[:250]] == tokens
    attempts = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert [a["ok"] for a in attempts][-3:] == [False, False, False]
    assert attempts[-1]["nextRetryAt"] and attempts[-1]["statusCode"] == 500


def test_gives_up_after_the_retry_window_and_shows_failed(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    hook = make_webhook(client, receiver.url, ["mute"])
    receiver.secret = hook["secret"]
    receiver.fail_first = 10**6
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1"})
    cfg = WebhookSettings(retry_window_s=0.3)
    dispatch_until(
        db, lambda: client.get(f"/v1/webhooks/{hook['id']}").json()["failedEvents"] == 1, cfg=cfg
    )
    assert receiver.calls >= 2
    (failed,) = client.get(f"/v1/webhooks/{hook['id']}/failed-events").json()
    assert failed["type"] == "mute" and failed["attempts"] >= 2
    # Later events still go out once the receiver is back.
    receiver.fail_first = 0
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "2"})
    dispatch_until(db, lambda: len(receiver.events()) == 1, cfg=cfg)
    assert receiver.events()[0]["chatId"] == "2"


@pytest.mark.parametrize("owners", [3])
def test_several_dispatchers_send_each_event_once(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver, owners: int
) -> None:
    hooks = [make_webhook(client, receiver.url, ["mute"]) for _ in range(2)]
    receiver.secret = hooks[0]["secret"]
    # Both hooks' secrets verify: the receiver here only knows one, so sign with one.
    from hushcast.webhooks.models import webhooks

    with db.transaction() as conn:
        conn.execute(update(webhooks).values(secret=hooks[0]["secret"]))
    tokens = [str(i) for i in range(1, 301)]
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": tokens})
    dispatch_until(db, lambda: len(receiver.events()) >= 600, owners=owners)
    # One event reaches each webhook once (both carry the event's one id).
    counts = Counter((b["webhookId"], e["id"]) for b in receiver.bodies for e in b["events"])
    assert len(counts) == 600 and set(counts.values()) == {1}
    assert len({e["id"] for e in receiver.events()}) == 300
    assert receiver.bad_signatures == 0


def test_expired_event_for_timed_mute(
    client: TestClient, app_uuid: str, db: Database, receiver: Receiver
) -> None:
    hook = make_webhook(client, receiver.url, ["mute"])
    receiver.secret = hook["secret"]
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "42", "duration": 3600})
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "43"})  # forever
    # The timed mute ends now (as if an hour had gone by).
    with db.transaction() as conn:
        conn.execute(
            update(mutes)
            .where(mutes.c.token == "42")
            .values(muted_until=utcnow() - timedelta(milliseconds=1))
        )
    dispatch_until(db, lambda: any(e.get("action") == "expired" for e in receiver.events()))
    expired = [e for e in receiver.events() if e.get("action") == "expired"]
    assert [e["chatId"] for e in expired] == ["42"]
    assert expired[0]["by"] == "expiry"


def test_yespo_format(client: TestClient, db: Database, receiver: Receiver) -> None:
    from hushcast.webhooks.events import yespo_activity

    event: dict[str, Any] = {
        "id": "e1",
        "type": "delivery",
        "occurredAt": "2026-01-01T00:00:00.000Z",
        "status": "UNAVAILABLE",
        "errorName": "CHANNEL_WAS_MUTED",
        "deliveryId": 5,
        "broadcastId": 3,
        "messageId": 9,
        "contactId": 4,
        "externalCustomerId": "c-4",
        "chatId": "77",
    }
    a = yespo_activity(event)
    assert a["activityStatus"] == "UNDELIVERED" and a["channelType"] == "telegrambot"
    assert a["mediaType"] == "Telegram" and a["statusDescription"] == "CHANNEL_WAS_MUTED"
    assert a["iid"] == "e1" and a["broadcastId"] == 3 and a["messageInstanceId"] == 5
    assert yespo_activity({**event, "status": "DELIVERED"})["activityStatus"] == "DELIVERED"
    click = yespo_activity({**event, "type": "click", "link": "https://x.example"})
    assert click["activityStatus"] == "CLICKED" and click["clickEventLink"] == "https://x.example"

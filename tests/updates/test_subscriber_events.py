"""A block and an unblock seen in updates write the same subscriber webhook events as a
failed send and a new registration do (deactivated, reactivated)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.receiver import Receiver
from tests.support.updates import apply_stored, post_update, secret_of, start_update, webhook_on
from tests.support.webhooks import dispatch_until


def member(update_id: int, old: str, new: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "date": 1,
            "old_chat_member": {"user": {"id": 1, "is_bot": True}, "status": old},
            "new_chat_member": {"user": {"id": 1, "is_bot": True}, "status": new},
        },
    }


def test_block_and_unblock_are_subscriber_events(
    client: TestClient,
    app_uuid: str,
    fake_telegram: Any,
    db: Database,
    settings: Any,
    receiver: Receiver,
) -> None:
    hook = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["subscriber"]})
    assert hook.status_code == 201, hook.text
    receiver.secret = hook.json()["secret"]
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, start_update(1, 42))
    post_update(client, app_uuid, secret, member(2, "member", "kicked"))
    post_update(client, app_uuid, secret, member(3, "member", "kicked"))  # no change: no event
    post_update(client, app_uuid, secret, member(4, "kicked", "member"))
    apply_stored(db, settings)
    dispatch_until(db, lambda: len(receiver.events()) >= 3)
    assert [(e["action"], e["chatId"]) for e in receiver.events()] == [
        ("added", "42"),
        ("deactivated", "42"),
        ("reactivated", "42"),
    ]

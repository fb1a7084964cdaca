"""Groups (registerGroups): the bot added to a group registers it, removed deactivates it;
a group that became a supergroup moves its token and its mute to the new chat id."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.updates import (
    apply_stored,
    muted_until,
    post_update,
    secret_of,
    token_state,
    webhook_on,
)

GROUP = {"id": -4001, "type": "group", "title": "Fans"}


def bot_member(update_id: int, old: str, new: str, chat: dict[str, Any]) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat,
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "date": 1,
            "old_chat_member": {"user": {"id": 1, "is_bot": True}, "status": old},
            "new_chat_member": {"user": {"id": 1, "is_bot": True}, "status": new},
        },
    }


def migrated(update_id: int, old: int, new: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 9,
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "chat": {"id": old, "type": "group", "title": "Fans"},
            "date": 1,
            "migrate_to_chat_id": new,
        },
    }


def test_groups_register_only_when_asked(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, bot_member(1, "left", "member", GROUP))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "-4001") is None
    webhook_on(client, app_uuid, registerGroups=True)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, bot_member(2, "left", "member", GROUP))
    apply_stored(db, settings)
    state = token_state(db, app_uuid, "-4001")
    assert state.active and state.first_name == "Fans"
    post_update(client, app_uuid, secret, bot_member(3, "member", "left", GROUP))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "-4001").active is False
    post_update(client, app_uuid, secret, bot_member(4, "left", "administrator", GROUP))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "-4001").active is True


def test_migration_moves_the_token_and_its_mute(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    webhook_on(client, app_uuid, registerGroups=True)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, bot_member(1, "left", "member", GROUP))
    apply_stored(db, settings)
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "-4001", "duration": 600})
    assert r.status_code == 200
    until = muted_until(db, app_uuid, "-4001")
    post_update(client, app_uuid, secret, migrated(2, -4001, -1004001))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "-4001") is None
    assert token_state(db, app_uuid, "-1004001").active is True
    assert muted_until(db, app_uuid, "-1004001") == until
    assert muted_until(db, app_uuid, "-4001") is None


def test_migration_onto_a_registered_chat_deactivates_the_old_one(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={
            "tokens": [
                {"token": "-4002", "externalCustomerId": "g1"},
                {"token": "-1004002", "externalCustomerId": "g2"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, migrated(1, -4002, -1004002))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "-4002").active is False
    assert token_state(db, app_uuid, "-1004002").active is True

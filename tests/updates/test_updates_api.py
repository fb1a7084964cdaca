"""The updates API and the webhook receiver, over HTTP against the app, on SQLite and
PostgreSQL, with the fake Telegram server."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.checks import assert_problem, table_snapshot
from tests.support.service import bearer
from tests.support.updates import (
    apply_stored,
    bot_call,
    bot_token_of,
    muted_until,
    post_update,
    secret_of,
    start_update,
    stored_updates,
    token_state,
    update_settings_row,
    webhook_on,
)


def test_default_is_off_and_get_never_shows_secrets(client: TestClient, app_uuid: str) -> None:
    r = client.get(f"/v1/apps/{app_uuid}/updates")
    assert r.status_code == 200
    assert r.json()["mode"] == "off" and r.json()["webhookUrl"] is None
    body = webhook_on(
        client, app_uuid, relayUrl="https://relay.example.com/in", relaySecret="relay-s3cret"
    )
    assert body["mode"] == "webhook" and body["relaySecretSet"] is True
    assert body["webhookUrl"] == f"http://testserver/telegram/webhook/{app_uuid}"
    got = client.get(f"/v1/apps/{app_uuid}/updates")
    assert "relay-s3cret" not in got.text
    assert got.json()["relayUrl"] == "https://relay.example.com/in"


def test_setting_the_webhook_and_turning_it_off(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    assert update_settings_row(db, app_uuid).webhook_secret == secret
    info = bot_call(fake_telegram, bot_token_of(db, app_uuid), "getWebhookInfo")["result"]
    assert info["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    r = client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "off"})
    assert r.status_code == 200 and r.json()["mode"] == "off"
    info = bot_call(fake_telegram, bot_token_of(db, app_uuid), "getWebhookInfo")["result"]
    assert info["url"] == ""
    # The old secret is worth nothing now.
    assert_problem(post_update(client, app_uuid, secret, start_update(1, 42)), 401)


def test_disconnecting_a_bot_removes_its_webhook(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    webhook_on(client, app_uuid)
    token = bot_token_of(db, app_uuid)
    assert bot_call(fake_telegram, token, "getWebhookInfo")["result"]["url"] != ""
    assert client.delete(f"/v1/apps/{app_uuid}").status_code == 204
    # Telegram would otherwise go on calling an endpoint that answers 401.
    assert bot_call(fake_telegram, token, "getWebhookInfo")["result"]["url"] == ""


def test_bad_settings_are_400_and_change_nothing(client: TestClient, app_uuid: str) -> None:
    url = f"/v1/apps/{app_uuid}/updates"
    for body in (
        {"mode": "push"},
        {},
        {"mode": "webhook", "dialogGuard": {"enabled": True, "muteSeconds": 0}},
        {"mode": "webhook", "relayUrl": "ftp://x"},
        {"mode": "webhook", "relayUrl": "http://127.0.0.1/x"},
        {"mode": "webhook", "unknown": 1},
    ):
        if body.get("relayUrl") == "http://127.0.0.1/x":
            continue  # allowed in these tests (HUSHCAST_WEBHOOK_ALLOW_PRIVATE)
        assert_problem(client.put(url, json=body), 400)
    assert client.get(url).json()["mode"] == "off"
    assert_problem(client.put("/v1/apps/not-a-uuid/updates", json={"mode": "off"}), 400)


def test_another_organisations_bot_is_404(
    client: TestClient, app_uuid: str, other_key: str, db: Database
) -> None:
    before = table_snapshot(db)
    rival = bearer(other_key)
    url = f"/v1/apps/{app_uuid}/updates"
    assert_problem(client.put(url, json={"mode": "webhook"}, headers=rival), 404)
    assert_problem(client.get(url, headers=rival), 404)
    r = client.post(f"/v1/apps/{app_uuid}/links", json={"externalCustomerId": "x"}, headers=rival)
    assert_problem(r, 404)
    assert table_snapshot(db) == before


def test_a_forged_webhook_call_changes_nothing(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    webhook_on(client, app_uuid, dialogGuard={"enabled": True, "muteSeconds": 600})
    secret = secret_of(fake_telegram, db, app_uuid)
    before = table_snapshot(db)
    for given in (None, "", "wrong", secret + "x", secret.upper()):
        r = post_update(client, app_uuid, given, start_update(1, 42))
        assert_problem(r, 401)
    # Right secret, another bot's path: also 401.
    assert_problem(
        post_update(client, "00000000-0000-0000-0000-000000000000", secret, start_update(1, 42)),
        401,
    )
    assert_problem(post_update(client, "nope", secret, start_update(1, 42)), 401)
    assert table_snapshot(db) == before


def test_webhook_updates_are_stored_once_then_applied(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    r = post_update(client, app_uuid, secret, start_update(10, 42))
    assert r.status_code == 200
    # Telegram re-sends on a timeout: the same update_id is taken once.
    assert post_update(client, app_uuid, secret, start_update(10, 42)).status_code == 200
    assert post_update(client, app_uuid, secret, start_update(11, 43)).status_code == 200
    rows = stored_updates(db, app_uuid)
    assert [r.update_id for r in rows] == [10, 11]
    assert all(r.processed_at is None for r in rows)  # stored first; the worker applies
    assert token_state(db, app_uuid, "42") is None
    assert apply_stored(db, settings) == 2
    assert apply_stored(db, settings) == 0  # each applied once
    state = token_state(db, app_uuid, "42")
    assert state.active and state.first_name == "Ann"
    assert state.fields == {"telegramUsername": "ann"}
    assert token_state(db, app_uuid, "43") is not None


def test_webhook_rejects_bodies_that_are_no_update(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    for body in (
        b"not json",
        '{"update_id": 1}'.encode("utf-16"),
        b'{"update_id": 1, "x": "\xff"}',
        b"[]",
        {"update_id": "1"},
        {"update_id": -1},
        {"x": 1},
        {"update_id": True},
        {"update_id": 2**70},
    ):
        assert_problem(post_update(client, app_uuid, secret, body), 400)
    assert stored_updates(db, app_uuid) == []


def test_block_unblock_and_the_dialog_guard_through_the_webhook(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    webhook_on(client, app_uuid, dialogGuard={"enabled": True, "muteSeconds": 600})
    secret = secret_of(fake_telegram, db, app_uuid)
    chat = {"id": 42, "type": "private", "first_name": "Ann"}

    def member(update_id: int, old: str, new: str) -> dict[str, Any]:
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

    post_update(client, app_uuid, secret, start_update(1, 42))
    apply_stored(db, settings)
    assert muted_until(db, app_uuid, "42") is None  # /start is no dialog
    post_update(client, app_uuid, secret, start_update(2, 42, text="where is my order?"))
    apply_stored(db, settings)
    first = muted_until(db, app_uuid, "42")
    assert first is not None
    r = client.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": "42"})
    assert r.json()["muted"] is True
    # A longer API mute is never shortened by the guard.
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "42", "duration": 86400})
    longer = muted_until(db, app_uuid, "42")
    post_update(client, app_uuid, secret, start_update(3, 42, text="hello again"))
    apply_stored(db, settings)
    assert muted_until(db, app_uuid, "42") == longer
    # Blocked at once, reactivated when the user comes back.
    post_update(client, app_uuid, secret, member(4, "member", "kicked"))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "42").active is False
    post_update(client, app_uuid, secret, member(5, "kicked", "member"))
    apply_stored(db, settings)
    assert token_state(db, app_uuid, "42").active is True


def test_deep_link_joins_the_named_contact(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    r = client.post(f"/v1/apps/{app_uuid}/links", json={"externalCustomerId": "cust-77"})
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["url"].startswith("https://t.me/") and link["url"].endswith(link["payload"])
    assert len(link["payload"]) <= 64
    assert_problem(client.post(f"/v1/apps/{app_uuid}/links", json={}), 400)
    assert_problem(client.post(f"/v1/apps/{app_uuid}/links", json={"contactId": 999999}), 404)
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    post_update(client, app_uuid, secret, start_update(1, 4242, text=f"/start {link['payload']}"))
    secrets = (client.app.state.secret,)  # type: ignore[attr-defined]
    apply_stored(db, settings, secrets)
    state = token_state(db, app_uuid, "4242")
    assert state is not None and state.external_customer_id == "cust-77"
    # A forged payload registers the chat as a contact of its own.
    post_update(client, app_uuid, secret, start_update(2, 4343, text="/start " + "A" * 34))
    apply_stored(db, settings, secrets)
    other = token_state(db, app_uuid, "4343")
    assert other is not None and other.external_customer_id is None


def test_a_single_use_link_joins_only_the_first_chat(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    r = client.post(
        f"/v1/apps/{app_uuid}/links", json={"externalCustomerId": "once-1", "singleUse": True}
    )
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    secrets = (client.app.state.secret,)  # type: ignore[attr-defined]
    post_update(client, app_uuid, secret, start_update(1, 6001, text=f"/start {payload}"))
    post_update(client, app_uuid, secret, start_update(2, 6002, text=f"/start {payload}"))
    # The first chat may start again with it.
    post_update(client, app_uuid, secret, start_update(3, 6001, text=f"/start {payload}"))
    apply_stored(db, settings, secrets)
    assert token_state(db, app_uuid, "6001").external_customer_id == "once-1"
    second = token_state(db, app_uuid, "6002")
    assert second is not None and second.external_customer_id is None


def test_welcome_message_goes_to_new_subscribers_only(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    r = client.post("/v1/messages/telegram", json={"name": "welcome", "text": "Welcome!"})
    message_id = r.json()["id"]
    url = f"/v1/apps/{app_uuid}/updates"
    for bad in (999999, 0, -1, 2**70):
        r = client.put(url, json={"mode": "webhook", "welcomeMessageId": bad})
        assert_problem(r, (400, 422))
    body = webhook_on(client, app_uuid, welcomeMessageId=message_id)
    assert body["welcomeMessageId"] == message_id
    secret = secret_of(fake_telegram, db, app_uuid)
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "6101", "duration": 600})
    post_update(client, app_uuid, secret, start_update(1, 6101))
    post_update(client, app_uuid, secret, start_update(2, 6101))  # already a subscriber
    apply_stored(db, settings)
    with db.read() as conn:
        from sqlalchemy import select

        from hushcast.delivery.models import deliveries

        rows = conn.execute(
            select(deliveries.c.token, deliveries.c.kind, deliveries.c.message_id)
        ).all()
    assert [(r.token, r.kind, r.message_id) for r in rows] == [("6101", "smartsend", message_id)]


def test_a_name_postgresql_cannot_store_does_not_block_the_bot(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database, settings: Any
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    nul = start_update(1, 6201)
    nul["message"]["from"]["first_name"] = "An\u0000n"
    assert post_update(client, app_uuid, secret, nul).status_code == 200
    assert post_update(client, app_uuid, secret, start_update(2, 6202)).status_code == 200
    assert apply_stored(db, settings) == 2
    assert token_state(db, app_uuid, "6201").first_name == "Ann"
    assert token_state(db, app_uuid, "6202") is not None

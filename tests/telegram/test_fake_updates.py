"""The fake Telegram server's updates: simulated users produce Telegram's update shapes,
getUpdates serves them without a webhook, setWebhook (with secret_token) pushes them and
retries until the webhook answers 2xx."""

from __future__ import annotations

from typing import Any

import httpx
from tests.support.service import new_bot_token
from tests.support.updates import RelayEndpoint, bot_call, user
from tests.support.waiting import wait_for


def test_users_produce_telegram_updates_served_by_get_updates(fake_telegram: Any) -> None:
    bot = new_bot_token(fake_telegram)
    start = user(fake_telegram, 77, "start", bot, payload="abc", first_name="Ann")
    text = user(fake_telegram, 77, "send", bot, text="hi")
    block = user(fake_telegram, 77, "block", bot)
    unblock = user(fake_telegram, 77, "unblock", bot)
    button = user(fake_telegram, 77, "callback", bot, data="yes")
    assert start["message"]["text"] == "/start abc"
    assert start["message"]["chat"] == {"id": 77, "type": "private", "first_name": "Ann"}
    assert start["message"]["entities"][0]["type"] == "bot_command"
    assert text["message"]["text"] == "hi"
    member = block["my_chat_member"]
    assert (member["old_chat_member"]["status"], member["new_chat_member"]["status"]) == (
        "member",
        "kicked",
    )
    assert member["new_chat_member"]["user"]["is_bot"] is True
    assert unblock["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert button["callback_query"]["data"] == "yes"
    got = bot_call(fake_telegram, bot, "getUpdates")["result"]
    assert [u["update_id"] for u in got] == [1, 2, 3, 4, 5]
    # An offset confirms what came before it.
    got = bot_call(fake_telegram, bot, "getUpdates", offset=5)["result"]
    assert [u["update_id"] for u in got] == [5]


def test_a_blocked_chat_refuses_sends(fake_telegram: Any) -> None:
    bot = new_bot_token(fake_telegram)
    user(fake_telegram, 78, "block", bot)
    r = bot_call(fake_telegram, bot, "sendMessage", chat_id=78, text="x")
    assert r["error_code"] == 403
    user(fake_telegram, 78, "unblock", bot)
    assert bot_call(fake_telegram, bot, "sendMessage", chat_id=78, text="x")["ok"] is True


def test_control_errors(fake_telegram: Any) -> None:
    base = fake_telegram.base_url
    bot = new_bot_token(fake_telegram)
    assert httpx.post(f"{base}/_fake/users/x/send", json={"token": bot}).status_code == 400
    assert httpx.post(f"{base}/_fake/users/1/send", json={"token": bot}).status_code == 400
    assert httpx.post(f"{base}/_fake/users/1/dance", json={"token": bot}).status_code == 404
    assert httpx.post(f"{base}/_fake/users/1/block", json={"token": "1:x"}).status_code == 404


def test_webhook_push_with_secret_and_retries(fake_telegram: Any) -> None:
    bot = new_bot_token(fake_telegram)
    hook = RelayEndpoint()  # any HTTP endpoint that records what it gets
    try:
        bad = bot_call(fake_telegram, bot, "setWebhook", url=hook.url, secret_token="no spaces!")
        assert bad["ok"] is False and bad["error_code"] == 400
        hook.down = True
        assert bot_call(fake_telegram, bot, "setWebhook", url=hook.url, secret_token="s3c-ret")[
            "ok"
        ]
        conflict = bot_call(fake_telegram, bot, "getUpdates")
        assert conflict["error_code"] == 409
        sent = [user(fake_telegram, 79, "send", bot, text=f"m{i}") for i in range(3)]
        wait_for(lambda: hook.refused >= 2, timeout=10)
        info = bot_call(fake_telegram, bot, "getWebhookInfo")["result"]
        assert info["url"] == hook.url and info["pending_update_count"] == 3
        assert info["last_error_message"] == "Wrong response from the webhook: 503"
        hook.down = False
        wait_for(lambda: len(hook.bodies) == 3, timeout=10)
        assert hook.bodies == sent and set(hook.secrets) == {"s3c-ret"}
        assert bot_call(fake_telegram, bot, "getWebhookInfo")["result"]["pending_update_count"] == 0
        assert bot_call(fake_telegram, bot, "deleteWebhook")["ok"]
        user(fake_telegram, 79, "send", bot, text="after")
        assert [
            u["message"]["text"] for u in bot_call(fake_telegram, bot, "getUpdates")["result"]
        ] == ["after"]
    finally:
        hook.stop()

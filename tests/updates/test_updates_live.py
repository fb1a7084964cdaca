"""End to end: the live service (API + worker), the fake Telegram server pushing to the
webhook or answering getUpdates, simulated users, broadcasts and the relay. SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hushcast.core.config import Settings
from hushcast.core.db import Database
from tests.support.live import broadcast_done, connect_bot, create_message, deliveries_by_token
from tests.support.service import LiveService
from tests.support.updates import (
    RelayEndpoint,
    bot_token_of,
    muted_until,
    stored_updates,
    token_state,
    update_settings_row,
    user,
)
from tests.support.waiting import wait_for

MODES = ["webhook", "polling"]


def turn_on(live: LiveService, app_uuid: str, mode: str, **extra: Any) -> None:
    # The fake pushes webhook updates to this very service.
    live.app.state.settings.public_url = live.base_url
    r = live.http.put(f"/v1/apps/{app_uuid}/updates", json={"mode": mode, **extra})
    assert r.status_code == 200, r.text


def applied(db: Database, app_uuid: str, count: int) -> bool:
    rows = stored_updates(db, app_uuid)
    return len(rows) >= count and all(r.processed_at is not None for r in rows)


def broadcast(live: LiveService, app_uuid: str, text: str) -> int:
    message_id = create_message(live.http, text)
    r = live.http.post("/v1/broadcast", json={"messageId": message_id, "appId": app_uuid})
    assert r.status_code == 200, r.text
    bid = int(r.json()["broadcastId"])
    wait_for(lambda: broadcast_done(live.http, bid), timeout=30)
    return bid


@pytest.mark.parametrize("mode", MODES)
def test_deep_link_start_then_the_next_broadcast_arrives(
    live: LiveService, fake_telegram: Any, db: Database, mode: str
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    bot = bot_token_of(db, app_uuid)
    turn_on(live, app_uuid, mode)
    link = live.http.post(f"/v1/apps/{app_uuid}/links", json={"email": "ann@example.com"}).json()
    user(fake_telegram, 5101, "start", bot, payload=link["payload"], first_name="Ann")
    user(fake_telegram, 5102, "start", bot, first_name="Bob", language_code="uk")
    wait_for(lambda: token_state(db, app_uuid, "5102"), timeout=20)
    wait_for(lambda: token_state(db, app_uuid, "5101"), timeout=20)
    assert token_state(db, app_uuid, "5101").email == "ann@example.com"
    bob = token_state(db, app_uuid, "5102")
    assert bob.first_name == "Bob" and bob.fields == {"languageCode": "uk"}
    broadcast(live, app_uuid, "Hello subscribers")
    got = {m["chat_id"] for m in fake_telegram.messages() if m["text"] == "Hello subscribers"}
    assert got == {"5101", "5102"}


@pytest.mark.parametrize("mode", MODES)
def test_a_block_is_noticed_before_any_send(
    live: LiveService, fake_telegram: Any, db: Database, mode: str
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    bot = bot_token_of(db, app_uuid)
    turn_on(live, app_uuid, mode)
    user(fake_telegram, 5201, "start", bot)
    user(fake_telegram, 5202, "start", bot)
    user(fake_telegram, 5202, "block", bot)
    wait_for(lambda: applied(db, app_uuid, 3), timeout=20)
    assert token_state(db, app_uuid, "5202").active is False
    fake_telegram.clear()
    bid = broadcast(live, app_uuid, "News")
    rows = deliveries_by_token(db, bid)
    assert (rows["5202"].status, rows["5202"].error_name) == ("UNAVAILABLE", "TOKEN_INACTIVE")
    assert {m["chat_id"] for m in fake_telegram.messages()} == {"5201"}  # none tried to 5202
    user(fake_telegram, 5202, "unblock", bot)
    wait_for(lambda: token_state(db, app_uuid, "5202").active, timeout=20)


@pytest.mark.parametrize("mode", MODES)
def test_a_user_in_a_dialog_gets_no_broadcast_but_transactional_messages(
    live: LiveService, fake_telegram: Any, db: Database, mode: str
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    bot = bot_token_of(db, app_uuid)
    turn_on(live, app_uuid, mode, dialogGuard={"enabled": True, "muteSeconds": 600})
    user(fake_telegram, 5301, "start", bot)
    user(fake_telegram, 5302, "start", bot)
    user(fake_telegram, 5302, "send", bot, text="I need help with my order")
    wait_for(lambda: muted_until(db, app_uuid, "5302"), timeout=20)
    assert muted_until(db, app_uuid, "5301") is None
    bid = broadcast(live, app_uuid, "Big sale")
    rows = deliveries_by_token(db, bid)
    assert rows["5302"].error_name == "CHANNEL_WAS_MUTED"
    assert rows["5301"].status == "DELIVERED"
    message_id = create_message(live.http, "Your order shipped")
    r = live.http.post(
        f"/v1/message/{message_id}/smartsend",
        json={"appId": app_uuid, "email": False, "recipients": [{"locator": "5302"}]},
    )
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "OK", r.text
    wait_for(
        lambda: any(
            m["text"] == "Your order shipped" for m in fake_telegram.messages(chat_id="5302")
        ),
        timeout=20,
    )
    # The mute history says the dialog guard muted the chat.
    history = live.http.get(f"/v1/apps/{app_uuid}/token/mute/history", params={"token": "5302"})
    assert history.status_code == 200, history.text
    assert [(c["kind"], c["by"]) for c in history.json()] == [("mute", "dialog-guard")]


@pytest.mark.parametrize("mode", MODES)
def test_relay_gets_every_update_once_in_order_after_an_outage(
    live: LiveService, fake_telegram: Any, db: Database, mode: str, relay: RelayEndpoint
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    bot = bot_token_of(db, app_uuid)
    relay.down = True
    turn_on(live, app_uuid, mode, relayUrl=relay.url, relaySecret="customer-secret")
    sent = [user(fake_telegram, 5401, "start", bot)]
    for i in range(5):
        sent.append(user(fake_telegram, 5400 + i % 2, "send", bot, text=f"m{i}"))
    sent.append(user(fake_telegram, 5401, "block", bot))
    wait_for(lambda: applied(db, app_uuid, len(sent)), timeout=20)
    # Intake did not wait for the relay: everything was applied while it was down.
    assert token_state(db, app_uuid, "5401").active is False
    wait_for(lambda: relay.refused >= 3, timeout=20)
    stats = live.http.get(f"/v1/apps/{app_uuid}/updates").json()["relay"]
    assert stats["failures"] >= 1 and stats["lastError"] == "HTTP 503"
    assert stats["pending"] == len(sent)
    relay.down = False
    wait_for(lambda: len(relay.bodies) >= len(sent), timeout=30)
    assert relay.bodies == sent  # unchanged, once each, in order
    assert set(relay.secrets) == {"customer-secret"}
    stats = wait_for(
        lambda: (
            (s := live.http.get(f"/v1/apps/{app_uuid}/updates").json()["relay"])["pending"] == 0
            and s
        ),
        timeout=10,
    )
    assert stats["delivered"] == len(sent)


def test_polling_offset_survives_a_restart(
    settings: Settings, db: Database, api_key: str, fake_telegram: Any
) -> None:
    fast = settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0})
    first = LiveService(fast, db, api_key)
    try:
        app_uuid = connect_bot(first, fake_telegram)
        bot = bot_token_of(db, app_uuid)
        turn_on(first, app_uuid, "polling")
        for chat in (5501, 5502, 5503):
            user(fake_telegram, chat, "start", bot)
        wait_for(lambda: applied(db, app_uuid, 3), timeout=20)
    finally:
        first.stop()
    offset = update_settings_row(db, app_uuid).poll_offset
    assert offset == max(r.update_id for r in stored_updates(db, app_uuid))
    # Updates that arrive while no worker runs are read after the restart, once.
    user(fake_telegram, 5504, "start", bot)
    user(fake_telegram, 5505, "start", bot)
    second = LiveService(fast, db, api_key)
    try:
        wait_for(lambda: applied(db, app_uuid, 5), timeout=20)
    finally:
        second.stop()
    ids = [r.update_id for r in stored_updates(db, app_uuid)]
    assert len(ids) == len(set(ids)) == 5
    for chat in ("5501", "5502", "5503", "5504", "5505"):
        assert token_state(db, app_uuid, chat) is not None


def test_one_poller_per_bot_across_workers(
    settings: Settings, db: Database, api_key: str, fake_telegram: Any
) -> None:
    fast = settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0})
    a = LiveService(fast, db, api_key)
    b = LiveService(fast, db, api_key)
    try:
        app_uuid = connect_bot(a, fake_telegram)
        bot = bot_token_of(db, app_uuid)
        turn_on(a, app_uuid, "polling")
        owner = wait_for(lambda: update_settings_row(db, app_uuid).lease_owner, timeout=10)
        for i in range(10):
            user(fake_telegram, 5600 + i, "start", bot)
        wait_for(lambda: applied(db, app_uuid, 10), timeout=20)
        assert update_settings_row(db, app_uuid).lease_owner == owner
    finally:
        a.stop()
        b.stop()
    assert len(stored_updates(db, app_uuid)) == 10


def test_switching_off_still_finishes_what_was_accepted(
    live: LiveService, fake_telegram: Any, db: Database, relay: RelayEndpoint
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    bot = bot_token_of(db, app_uuid)
    relay.down = True
    turn_on(live, app_uuid, "webhook", relayUrl=relay.url)
    sent = [user(fake_telegram, 5701 + i, "start", bot) for i in range(3)]
    wait_for(lambda: applied(db, app_uuid, 3), timeout=20)
    r = live.http.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "off"})
    assert r.status_code == 200
    relay.down = False
    wait_for(lambda: len(relay.bodies) >= 3, timeout=30)
    assert relay.bodies == sent
    # Nothing new is taken once off.
    user(fake_telegram, 5799, "start", bot)
    assert len(stored_updates(db, app_uuid)) == 3


def test_a_stuck_relay_endpoint_does_not_hold_up_polling(
    settings: Settings,
    db: Database,
    api_key: str,
    fake_telegram: Any,
    relay: RelayEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUSHCAST_UPDATES_RELAY_TIMEOUT_S", "10")
    relay.hang_s = 30.0
    fast = settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0})
    live = LiveService(fast, db, api_key)
    try:
        app_uuid = connect_bot(live, fake_telegram)
        bot = bot_token_of(db, app_uuid)
        turn_on(live, app_uuid, "polling", relayUrl=relay.url)
        user(fake_telegram, 5801, "start", bot)
        wait_for(lambda: applied(db, app_uuid, 1), timeout=10)
        # The relay is now waiting on the stuck endpoint; polling goes on.
        time.sleep(0.3)
        started = time.monotonic()
        for i in range(3):
            user(fake_telegram, 5802 + i, "start", bot)
        wait_for(lambda: applied(db, app_uuid, 4), timeout=10)
        # Well within the relay's 10 s timeout (margin for a loaded machine).
        assert time.monotonic() - started < 7
    finally:
        relay.hang_s = 0
        live.stop()

"""Webhooks against the live service (API + worker, and a worker process killed
mid-broadcast), with a receiver that verifies signatures and fails the first calls."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support.live import broadcast_done, create_message
from tests.support.processes import start_worker
from tests.support.receiver import Receiver
from tests.support.service import LiveService, new_bot_token
from tests.support.waiting import wait_for


def _hook(http: Any, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    r = http.post("/v1/webhooks", json={"url": receiver.url, "events": events})
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    return dict(r.json())


def test_broadcast_delivery_and_click_events(
    live: LiveService, fake_telegram: Any, receiver: Receiver
) -> None:
    http = live.http
    receiver.fail_first = 2
    hook = _hook(http, receiver, ["delivery", "click"])
    yespo = Receiver()
    r = http.post(
        "/v1/webhooks",
        json={"url": yespo.url, "events": ["delivery", "click"], "format": "yespo"},
    )
    yespo.secret = r.json()["secret"]
    app_uuid = http.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
        "appUuid"
    ]
    tokens = [str(3000 + i) for i in range(40)]
    r = http.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": t, "externalCustomerId": f"c{t}"} for t in tokens]},
    )
    assert r.status_code == 200, r.text
    http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": tokens[0]})
    mid = create_message(http, "Sale", buttons=[{"text": "Open", "link": "https://shop.example/"}])
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: broadcast_done(http, bid), timeout=60)
    wait_for(lambda: len({e["chatId"] for e in receiver.events()}) == 40, timeout=30)
    events = {e["chatId"]: e for e in receiver.events() if e["type"] == "delivery"}
    assert events[tokens[0]]["status"] == "UNAVAILABLE"
    assert events[tokens[0]]["errorName"] == "CHANNEL_WAS_MUTED"
    for t in tokens[1:]:
        e = events[t]
        assert e["status"] == "DELIVERED" and e["broadcastId"] == bid and e["messageId"] == mid
        assert e["appUuid"] == app_uuid and e["externalCustomerId"] == f"c{t}"
        assert e["kind"] == "broadcast" and e["occurredAt"].endswith("Z")
    assert receiver.bad_signatures == 0 and receiver.calls >= 3
    # The same outcomes in Yespo's shape: JSON arrays of activity objects.
    wait_for(lambda: len(yespo.events()) == 40, timeout=30)
    assert all(isinstance(b, list) for b in yespo.bodies)
    activities = {a["token"]: a for a in yespo.events()}
    assert activities[tokens[0]]["activityStatus"] == "UNDELIVERED"
    assert activities[tokens[0]]["statusDescription"] == "CHANNEL_WAS_MUTED"
    a = activities[tokens[1]]
    assert a["activityStatus"] == "DELIVERED" and a["channelType"] == "telegrambot"
    assert a["broadcastId"] == bid and a["externalCustomerId"] == f"c{tokens[1]}"
    assert a["iid"] == events[tokens[1]]["id"]

    # A click on a tracked link.
    sent = {str(m["chat_id"]): m for m in fake_telegram.messages()}
    link = sent[tokens[1]]["reply_markup"]["inline_keyboard"][0][0]["url"]
    path = link.split("://", 1)[1].split("/", 1)[1]
    r = httpx.get(f"{live.base_url}/{path}", follow_redirects=False)
    assert r.status_code == 302
    wait_for(lambda: any(e["type"] == "click" for e in receiver.events()), timeout=15)
    (click,) = [e for e in receiver.events() if e["type"] == "click"]
    assert click["chatId"] == tokens[1] and click["link"] == "https://shop.example/"
    assert click["broadcastId"] == bid and click["externalCustomerId"] == f"c{tokens[1]}"
    attempts = http.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert sum(1 for a in attempts if not a["ok"]) == 2
    # The click in Yespo's shape too.
    wait_for(lambda: any(a["activityStatus"] == "CLICKED" for a in yespo.events()), timeout=15)
    (clicked,) = [a for a in yespo.events() if a["activityStatus"] == "CLICKED"]
    yespo.stop()
    assert clicked["clickEventLink"] == "https://shop.example/"
    assert clicked["token"] == tokens[1] and clicked["channelType"] == "telegrambot"
    assert clicked["iid"] == click["id"] and clicked["broadcastId"] == bid


def test_blocked_bot_sends_a_deactivated_subscriber_event(
    live: LiveService, fake_telegram: Any, receiver: Receiver
) -> None:
    """Telegram's 403 (the user blocked the bot) deactivates the token: a ``subscriber``
    ``deactivated`` event with Telegram's reason, next to the send's ERROR ``delivery``."""
    http = live.http
    _hook(http, receiver, ["delivery", "subscriber"])
    app_uuid = http.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
        "appUuid"
    ]
    items = [{"token": t, "externalCustomerId": f"b{t}"} for t in ("8101", "8102")]
    assert http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items}).status_code == 200
    fake_telegram.configure(blocked={"8101"})
    mid = create_message(http, "Hi")
    r = http.post(
        f"/v1/message/{mid}/smartsend",
        json={"recipients": [{"locator": "8101"}, {"locator": "8102"}]},
    )
    assert r.status_code == 200, r.text

    def seen() -> bool:
        kinds = {(e["type"], e.get("action"), e["chatId"]) for e in receiver.events()}
        return ("subscriber", "deactivated", "8101") in kinds and len(kinds) >= 5

    wait_for(seen, timeout=30)
    by_kind = {(e["type"], e.get("action"), e["chatId"]): e for e in receiver.events()}
    gone = by_kind[("subscriber", "deactivated", "8101")]
    assert "blocked" in gone["reason"] and gone["externalCustomerId"] == "b8101"
    failed = by_kind[("delivery", None, "8101")]
    assert failed["status"] == "ERROR" and failed["errorName"] == "BOT_SEND_ERROR"
    assert by_kind[("delivery", None, "8102")]["status"] == "DELIVERED"
    assert receiver.bad_signatures == 0


def test_expired_event_within_5s_of_a_10s_mute(
    live: LiveService, fake_telegram: Any, receiver: Receiver
) -> None:
    http = live.http
    _hook(http, receiver, ["mute"])
    app_uuid = http.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
        "appUuid"
    ]
    r = http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "555", "duration": 10})
    until = datetime.fromisoformat(r.json()["mutedUntil"].replace("Z", "+00:00")).timestamp()
    arrived: dict[str, float] = {}

    def expired() -> bool:
        if any(e.get("action") == "expired" for e in receiver.events()):
            arrived.setdefault("at", time.time())
            return True
        return False

    wait_for(expired, timeout=30, interval=0.05)
    # mutedUntil is given in whole seconds (the mute ends up to 1 s after it).
    assert arrived["at"] - until <= 5 + 1, arrived["at"] - until
    (e,) = [e for e in receiver.events() if e.get("action") == "expired"]
    assert e["chatId"] == "555" and e["appUuid"] == app_uuid


def test_worker_killed_mid_broadcast_loses_no_delivery_event(
    client: TestClient, fake_telegram: Any, db_url: str, receiver: Receiver
) -> None:
    fake_telegram.configure(latency_ms=50, global_rate=1000)
    _hook(client, receiver, ["delivery"])
    app_uuid = client.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
        "appUuid"
    ]
    client.patch(f"/v1/apps/{app_uuid}", json={"messagesPerSecond": 100})
    tokens = [str(40_000 + i) for i in range(200)]
    client.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": t, "externalCustomerId": t} for t in tokens]},
    )
    mid = client.post("/v1/messages/telegram", json={"name": "m", "text": "hi"}).json()["id"]
    bid = int(
        client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()[
            "broadcastId"
        ]
    )
    # The killed dispatcher's hold on the webhook lapses after 2 s (30 s by default),
    # then the next worker's dispatcher sends what the first had not.
    worker = start_worker(db_url, fake_telegram.base_url, webhooks=True, webhook_lease_s=2)
    try:
        wait_for(lambda: len(receiver.events()) >= 50, timeout=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    worker = start_worker(db_url, fake_telegram.base_url, webhooks=True, webhook_lease_s=2)
    try:
        wait_for(lambda: client.get(f"/v1/broadcast/{bid}").json()["status"] == "FINISHED", 60)
        wait_for(lambda: {e["chatId"] for e in receiver.events()} == set(tokens), timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    ids: dict[str, set[str]] = defaultdict(set)
    for e in receiver.events():
        ids[e["chatId"]].add(e["id"])
    # A chat sent twice (in flight at the kill) has its DELIVERED event twice, same id.
    assert all(len(v) == 1 for v in ids.values())
    assert receiver.bad_signatures == 0

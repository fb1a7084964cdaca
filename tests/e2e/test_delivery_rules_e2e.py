"""Delivery rules end to end: pause, resume, cancel, priority, per-chat pacing, migration."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.live import broadcast_done, create_message, deliveries_by_token, setup_bot
from tests.support.processes import start_worker
from tests.support.service import LiveService, new_bot_token
from tests.support.waiting import wait_for


def test_pause_resume_and_cancel(live: LiveService, fake_telegram: Any, db: Any) -> None:
    tokens = [str(40_000 + i) for i in range(30)]
    app_uuid = setup_bot(live, fake_telegram, tokens, messagesPerSecond=10)
    http = live.http
    mid = create_message(http, "Weekly")
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: len(fake_telegram.messages()) >= 3, timeout=20)
    assert http.post(f"/v1/broadcast/{bid}/pause").json()["status"] == "PAUSED"
    time.sleep(0.3)  # sends already on the wire may still land
    at_pause = len(fake_telegram.messages())
    time.sleep(1.0)
    assert len(fake_telegram.messages()) == at_pause, "sends went on while paused"
    assert http.post(f"/v1/broadcast/{bid}/resume").json()["status"] == "RUNNING"
    wait_for(lambda: broadcast_done(http, bid), timeout=30)
    assert Counter(str(m["chat_id"]) for m in fake_telegram.messages()) == Counter(tokens)

    fake_telegram.clear()
    bid2 = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: len(fake_telegram.messages()) >= 3, timeout=20)
    r = http.delete(f"/v1/broadcast/{bid2}")
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    time.sleep(0.3)
    at_cancel = len(fake_telegram.messages())
    time.sleep(1.0)
    assert len(fake_telegram.messages()) == at_cancel
    rows = deliveries_by_token(db, bid2)
    statuses = Counter(r.status for r in rows.values())
    assert statuses["DELIVERED"] == at_cancel
    assert statuses["CANCELLED"] == 30 - at_cancel
    assert http.delete(f"/v1/broadcast/{bid2}").status_code == 409


def test_transactional_goes_before_queued_broadcast(live: LiveService, fake_telegram: Any) -> None:
    tokens = [str(41_000 + i) for i in range(40)]
    app_uuid = setup_bot(live, fake_telegram, [*tokens, "49999"], messagesPerSecond=10)
    http = live.http
    mid = create_message(http, "Broadcast")
    tx = create_message(http, "Your code is $!data.get('code')")
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: len(fake_telegram.messages()) >= 2, timeout=20)
    r = http.post(
        f"/v1/message/{tx}/smartsend",
        json={
            "recipients": [{"locator": "49999", "jsonParam": json.dumps({"code": "1234"})}],
            "appId": app_uuid,
        },
    )
    assert r.json()["results"][0]["status"] == "OK"
    wait_for(
        lambda: any(m["text"] == "Your code is 1234" for m in fake_telegram.messages()), timeout=10
    )
    # The code went out while most of the broadcast was still queued.
    view = http.get(f"/v1/broadcast/{bid}").json()
    assert view["inQueue"] > 20, (view, len(fake_telegram.messages()))


def test_same_private_chat_paced_one_per_second(live: LiveService, fake_telegram: Any) -> None:
    app_uuid = setup_bot(live, fake_telegram, ["42000"])
    http = live.http
    tx = create_message(http, "Ping")
    body = {"recipients": [{"locator": "42000"}] * 3, "appId": app_uuid}
    results = http.post(f"/v1/message/{tx}/smartsend", json=body).json()["results"]
    assert [x["status"] for x in results] == ["OK", "OK", "OK"]
    wait_for(lambda: len(fake_telegram.messages()) == 3, timeout=15)
    times = sorted(m["monotonic"] for m in fake_telegram.messages())
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False)), times
    assert fake_telegram.stats()["rate_limited"] == 0


def test_migrated_group_gets_new_chat_id(live: LiveService, fake_telegram: Any, db: Any) -> None:
    fake_telegram.configure(migrated={"-4242": -1004242})
    app_uuid = setup_bot(live, fake_telegram, ["-4242", "43000"])
    http = live.http
    mid = create_message(http, "Group news")
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    got = {str(m["chat_id"]) for m in fake_telegram.messages()}
    assert got == {"-1004242", "43000"}
    tokens = {t["token"] for t in http.get(f"/v1/apps/{app_uuid}/tokens").json()}
    assert tokens == {"-1004242", "43000"}
    rows = deliveries_by_token(db, bid)
    assert rows["-1004242"].status == "DELIVERED"


def test_two_workers_share_the_queue_without_exceeding_the_limit(
    client: TestClient, fake_telegram: Any, db: Any, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several workers share PostgreSQL; SQLite is for one machine")
    apps = []
    for n in range(2):
        app_uuid = client.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
            "appUuid"
        ]
        # Below the fake's 30/s so that arrival jitter on a loaded machine (a few ms)
        # cannot bunch one worker's evenly paced sends into a 429; two workers sending
        # for one bot at once would still send about 50/s, far over the fake's limit.
        client.patch(f"/v1/apps/{app_uuid}", json={"messagesPerSecond": 25})
        tokens = [f"{44_000 + n * 1000 + i}" for i in range(60)]
        client.post(
            f"/v1/apps/{app_uuid}/tokens",
            json={"tokens": [{"token": t, "email": f"{t}@x.io"} for t in tokens]},
        )
        apps.append((app_uuid, tokens))
    mid = client.post("/v1/messages/telegram", json={"name": "m", "text": "hello"}).json()["id"]
    workers = [
        start_worker(db_url, fake_telegram.base_url, lease_s=3, stdout=None) for _ in range(2)
    ]
    try:
        bids = [
            int(
                client.post("/v1/broadcast", json={"messageId": mid, "appId": a}).json()[
                    "broadcastId"
                ]
            )
            for a, _ in apps
        ]
        wait_for(
            lambda: all(
                client.get(f"/v1/broadcast/{b}").json()["status"] == "FINISHED" for b in bids
            ),
            timeout=60,
        )
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    got = Counter(str(m["chat_id"]) for m in fake_telegram.messages())
    assert got == Counter(t for _, tokens in apps for t in tokens)  # each exactly once
    assert fake_telegram.stats()["rate_limited"] == 0
    for bot_id in {m["bot_id"] for m in fake_telegram.messages()}:
        times = sorted(m["monotonic"] for m in fake_telegram.messages() if m["bot_id"] == bot_id)
        assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 30

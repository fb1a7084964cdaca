"""Hostile templates through the real service: the API refuses or the send fails with
TEMPLATE_ERROR, nothing of the server reaches Telegram or the report, and another
organisation's API keeps answering quickly while the renders run."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any

import httpx
import pytest

from hushcast.delivery.models import deliveries
from tests.support.hostile_templates import HOSTILE, REJECTED
from tests.support.service import LiveService, bearer, new_bot_token
from tests.support.waiting import wait_for

CANARY = "canary-env-5d1e"


class Pinger(threading.Thread):
    """Another organisation calling /v1/ping every 20 ms, recording each latency."""

    def __init__(self, base_url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base_url, headers=bearer(key), timeout=10)
        self.latencies: list[float] = []
        self.failures: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            start = time.perf_counter()
            r = self.http.get("/v1/ping")
            self.latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                self.failures.append(r.status_code)
            time.sleep(0.02)
        self.http.close()


@pytest.mark.serial  # times the API's answers while hostile renders run
def test_hostile_templates_through_the_service(
    live: LiveService,
    fake_telegram: Any,
    db: Any,
    db_url: str,
    other_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUSHCAST_CANARY", CANARY)
    http = live.http
    bot_token = new_bot_token(fake_telegram)
    app_uuid = http.post("/v1/apps", json={"botToken": bot_token}).json()["appUuid"]
    # One chat per template: Telegram's one-message-a-second pacing per chat would
    # otherwise stretch the run.
    chats = [str(5001 + i) for i in range(len(HOSTILE) + 1)]
    items = [{"token": c, "externalCustomerId": f"victim-{c}"} for c in chats]
    r = http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
    assert r.status_code == 200, r.text
    secrets = [CANARY, bot_token, db_url, os.getcwd()]

    # A plain send first, so the worker is warm and the ping figures are about templates.
    plain = http.post("/v1/messages/telegram", json={"name": "ok", "text": "Hello"}).json()["id"]
    http.post(f"/v1/message/{plain}/smartsend", json={"recipients": [{"locator": "5001"}]})
    wait_for(lambda: len(fake_telegram.messages()) == 1, timeout=20)

    # `hushcast serve` freezes its start-up objects (cli.py) so that a full collection
    # never walks them; this process also holds all of pytest's, and a gen-2 pass over
    # them stalls every thread for 0.2-0.4 s whatever the service does. Freeze them too.
    gc.collect()
    gc.freeze()
    pinger = Pinger(live.base_url, other_key)
    pinger.start()
    requests: dict[str, str] = {}
    try:
        for chat, hostile in zip(chats[1:], HOSTILE, strict=True):
            r = http.post("/v1/messages/telegram", json={"name": hostile.id, "text": hostile.text})
            if hostile.expect == REJECTED:
                assert r.status_code == 400, (hostile.id, r.status_code, r.text)
                assert "invalid template" in r.json()["detail"], hostile.id
                continue
            assert r.status_code == 200, (hostile.id, r.text)
            recipient: dict[str, Any] = {"locator": chat}
            if hostile.json_param is not None:
                recipient["jsonParam"] = hostile.json_param
            r = http.post(
                f"/v1/message/{r.json()['id']}/smartsend", json={"recipients": [recipient]}
            )
            assert r.status_code == 200, (hostile.id, r.text)
            requests[hostile.id] = r.json()["results"][0]["requestId"]

        def all_final() -> list[dict[str, Any]] | None:
            ids = ",".join(requests.values())
            results = http.get("/v1/message/status", params={"ids": ids}).json()["results"]
            return results if all(x["failed"] or x["delivered"] for x in results) else None

        wait_for(all_final, timeout=90)
        time.sleep(0.2)
    finally:
        pinger.done.set()
        pinger.join(timeout=10)
        gc.unfreeze()

    with db.read() as conn:
        rows = conn.execute(
            deliveries.select().where(deliveries.c.request_id.in_(list(requests.values())))
        ).all()
    by_request = {r.request_id: r for r in rows}
    for name, request_id in requests.items():
        row = by_request[request_id]
        assert (row.status, row.error_name) == ("ERROR", "TEMPLATE_ERROR"), (name, row)
        for secret in secrets:
            assert secret not in (row.description or ""), (name, row.description)
    # Nothing but the plain message reached Telegram.
    sent = [m["text"] for m in fake_telegram.messages()]
    assert sent == ["Hello"], sent[:3]

    assert not pinger.failures
    assert len(pinger.latencies) >= 10
    worst = max(pinger.latencies)
    slowest = sorted(pinger.latencies, reverse=True)[:5]
    assert worst < 0.1, (
        f"slowest pings {[round(x * 1000) for x in slowest]} ms of {len(pinger.latencies)}"
    )

"""Where webhook events are POSTed from: `hushcast serve` (API processes) runs the
dispatcher, `--no-webhooks` leaves it out, and a worker runs one only when started
with `--webhooks` (so that receivers never take a sending process's time)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.support.processes import ensure_api, free_port, spawn_api, start_worker, stop
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for
from tests.support.webhooks import make_webhook


def _mute(client: TestClient, app_uuid: str, token: str) -> None:
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": token})
    assert r.status_code == 200, r.text


def test_an_api_process_posts_the_events(
    client: TestClient, app_uuid: str, db_url: str, fake_telegram: Any, receiver: Receiver
) -> None:
    receiver.secret = make_webhook(client, receiver.url, ["mute"])["secret"]
    port = free_port()
    api, port = ensure_api(
        spawn_api(db_url, fake_telegram.base_url, port), port, db_url, fake_telegram.base_url
    )
    try:
        _mute(client, app_uuid, "501")  # the test's own API runs no dispatcher
        wait_for(lambda: len(receiver.events()) == 1, timeout=30)
        assert receiver.events()[0]["chatId"] == "501"
        assert receiver.bad_signatures == 0
    finally:
        stop(api)


def test_no_webhooks_api_and_plain_worker_post_nothing_a_webhooks_worker_does(
    client: TestClient, app_uuid: str, db_url: str, fake_telegram: Any, receiver: Receiver
) -> None:
    receiver.secret = make_webhook(client, receiver.url, ["mute"])["secret"]
    extra = ("--no-webhooks",)
    port = free_port()
    api, port = ensure_api(
        spawn_api(db_url, fake_telegram.base_url, port, extra=extra),
        port,
        db_url,
        fake_telegram.base_url,
        extra=extra,
    )
    worker = start_worker(db_url, fake_telegram.base_url)
    try:
        _mute(client, app_uuid, "502")
        # Both processes poll several times a second (POLL_S 0.25 s): 2 s is plenty
        # for either to have sent the event.
        time.sleep(2.0)
        assert receiver.events() == []
        stop(worker)
        worker = start_worker(db_url, fake_telegram.base_url, webhooks=True)
        wait_for(lambda: len(receiver.events()) == 1, timeout=30)
        assert receiver.events()[0]["chatId"] == "502"
    finally:
        stop(worker)
        stop(api)

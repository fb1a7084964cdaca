"""Polling survives SIGKILLs: worker processes killed while updates arrive lose none and
apply none twice (the offset is stored with the updates; each is marked applied in the
transaction that applies it)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.processes import start_worker, stop
from tests.support.updates import bot_token_of, stored_updates, token_state, user
from tests.support.waiting import wait_for

USERS = 60


def test_killed_pollers_lose_and_repeat_nothing(
    client: TestClient,
    app_uuid: str,
    fake_telegram: Any,
    db: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUSHCAST_UPDATES_LEASE_S", "1.5")  # a dead poller's bot moves fast
    bot = bot_token_of(db, app_uuid)
    assert client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "polling"}).status_code == 200

    def users() -> None:
        for i in range(USERS):
            user(fake_telegram, 7000 + i, "start", bot)
            time.sleep(0.03)

    arrivals = threading.Thread(target=users)
    worker = start_worker(db_url, fake_telegram.base_url)
    arrivals.start()
    try:
        for _ in range(3):
            time.sleep(0.5)
            stop(worker)  # SIGKILL
            worker = start_worker(db_url, fake_telegram.base_url)
        arrivals.join()
        wait_for(
            lambda: (
                len(rows := stored_updates(db, app_uuid)) == USERS
                and all(r.processed_at is not None for r in rows)
            ),
            timeout=60,
        )
    finally:
        stop(worker)
        arrivals.join()
    ids = [r.update_id for r in stored_updates(db, app_uuid)]
    assert ids == list(range(ids[0], ids[0] + USERS))  # every one, once, in order
    for i in range(USERS):
        assert token_state(db, app_uuid, str(7000 + i)) is not None

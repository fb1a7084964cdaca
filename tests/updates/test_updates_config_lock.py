"""One change of a bot's update settings at a time (updates/settings_service.py,
``update_config_locks``): a PUT tells Telegram, then stores, so two overlapping PUTs must
not leave Telegram and the database with different webhook secrets. SQLite and
PostgreSQL, with the fake Telegram server."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.updates import repository as repo
from hushcast.updates.models import update_config_locks
from tests.support.broadcasts import app_id
from tests.support.checks import assert_problem, table_snapshot
from tests.support.service import new_bot_token
from tests.support.updates import (
    bot_token_of,
    post_update,
    secret_of,
    start_update,
    update_settings_row,
    webhook_on,
)


def _locks(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(update_config_locks)))


def test_overlapping_puts_leave_one_secret_at_telegram_and_in_the_database(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    # setWebhook answers after 1 s: both PUTs are in flight together, even when one
    # thread starts late on a loaded machine.
    fake_telegram.configure(config_latency_ms=1000)
    start = threading.Barrier(2)
    answers: list[Any] = []

    def put() -> None:
        start.wait()
        answers.append(client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "webhook"}))

    threads = [threading.Thread(target=put) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert_problem(refused, 409)
    assert "in progress" in refused.json()["detail"]

    secret = secret_of(fake_telegram, db, app_uuid)
    assert update_settings_row(db, app_uuid).webhook_secret == secret
    assert post_update(client, app_uuid, secret, start_update(1, 42)).status_code == 200
    assert _locks(db) == []


def test_a_put_while_a_change_is_in_progress_changes_nothing(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    webhook_on(client, app_uuid)
    secret = secret_of(fake_telegram, db, app_uuid)
    bot = app_id(db, app_uuid)
    now = utcnow()
    with db.transaction() as conn:
        assert repo.lock_config(conn, bot, "another-process", now, now + timedelta(seconds=60))
    before = table_snapshot(db)

    r = client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "polling"})
    assert_problem(r, 409)
    assert table_snapshot(db) == before
    assert secret_of(fake_telegram, db, app_uuid) == secret  # Telegram was not called

    # The other process died half-way: once its lock has lapsed, the bot is free.
    with db.transaction() as conn:
        conn.execute(update(update_config_locks).values(until=utcnow() - timedelta(seconds=1)))
    r = client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "polling"})
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "polling"
    assert _locks(db) == []


def test_a_change_telegram_refused_frees_the_bot(
    client: TestClient, app_uuid: str, fake_telegram: Any, db: Database
) -> None:
    token = bot_token_of(db, app_uuid)
    bot_id = int(token.split(":")[0])
    fake_telegram.configure(tokens={})  # Telegram no longer knows the token
    r = client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "webhook"})
    assert_problem(r, 502)
    assert update_settings_row(db, app_uuid) is None
    assert _locks(db) == []

    fake_telegram.register_bot(token, bot_id, f"bot{bot_id}_bot", "Test bot")
    webhook_on(client, app_uuid)
    assert update_settings_row(db, app_uuid).webhook_secret == secret_of(
        fake_telegram, db, app_uuid
    )


def test_the_lock_is_per_bot(client: TestClient, fake_telegram: Any, db: Database) -> None:
    uuids = []
    for _ in range(2):
        r = client.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)})
        assert r.status_code == 201, r.text
        uuids.append(r.json()["appUuid"])
    now = utcnow()
    with db.transaction() as conn:
        assert repo.lock_config(conn, app_id(db, uuids[0]), "x", now, now + timedelta(seconds=60))
        # Anyone else waits for the lock to lapse.
        assert not repo.lock_config(
            conn, app_id(db, uuids[0]), "y", now, now + timedelta(seconds=60)
        )
    webhook_on(client, uuids[1])
    assert_problem(client.put(f"/v1/apps/{uuids[0]}/updates", json={"mode": "webhook"}), 409)

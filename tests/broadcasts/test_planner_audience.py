"""The planner's promises: one delivery per (broadcast, chat id), and no token passed
over because it committed after the cursor moved (issue 11, items 4 and 5)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from hushcast.broadcasts import planner
from hushcast.contacts.models import app_tokens
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery.models import deliveries
from tests.support.broadcasts import (  # noqa: F401
    NOW,
    app_id,
    contact_id,
    delivery_rows,
    new_broadcast,
    plan_all,
    queued,
    register,
)


def test_chat_registered_again_mid_planning_is_planned_once(
    client: TestClient,
    db: Database,
    ten: str,  # noqa: F811
) -> None:
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        assert planner.plan_batch(conn, bid, NOW, 3) is False  # @tok1..@tok3 queued
    # The contact is deleted and its chat registered again: a new token row, after the cursor.
    assert client.delete(f"/v1/contact/{contact_id(db, 'c1')}").status_code == 200
    register(client, ten, [("@tok1", "c1-again")])
    plan_all(db, bid, 3)
    tokens = [r.token for r in delivery_rows(db, broadcast_id=bid)]
    assert sorted(tokens) == sorted(f"@tok{i}" for i in range(1, 11))


def test_the_database_refuses_a_second_delivery_for_a_chat(
    client: TestClient,
    db: Database,
    ten: str,  # noqa: F811
) -> None:
    bid = new_broadcast(client, db, ten)
    plan_all(db, bid)
    with db.read() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.broadcast_id == bid)).first()
    assert row is not None
    values = {k: v for k, v in row._mapping.items() if k != "id"}
    with pytest.raises(sa.exc.IntegrityError), db.transaction() as conn:
        conn.execute(insert(deliveries).values(**values))


def _waiting_on_lock(db: Database) -> bool:
    with db.read() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query ILIKE 'LOCK TABLE app_tokens%'"
                )
            ).scalar()
        )


def test_token_committed_late_with_a_lower_id_is_not_passed_over(
    client: TestClient,
    db: Database,
    db_url: str,
    ten: str,  # noqa: F811
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: a lower id cannot commit later")
    bid = new_broadcast(client, db, ten)
    aid = app_id(db, ten)
    cid = contact_id(db, "c2")
    # A concurrent import: its token gets an id now, and commits later.
    late = db.engine.connect()
    late_tx = late.begin()
    late.execute(
        insert(app_tokens).values(app_id=aid, contact_id=cid, token="9002", created_at=utcnow())
    )
    register(client, ten, [("9001", "c-early")])  # a higher id, committed at once
    results: list[Any] = []
    planning = threading.Thread(target=lambda: results.append(plan_all(db, bid)))
    planning.start()
    try:
        for _ in range(1000):  # until the planner is done or waits for the import
            if not planning.is_alive() or _waiting_on_lock(db):
                break
            time.sleep(0.01)
    finally:
        late_tx.commit()
        late.close()
    planning.join(30)
    assert results, "planning did not finish"
    got = queued(db, bid)
    assert "9001" in got and "9002" in got, sorted(got)  # early and late

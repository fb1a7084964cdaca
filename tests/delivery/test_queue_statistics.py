"""PostgreSQL's planner and a queue that grew after its statistics were taken (autovacuum
off or behind): the pre-send check still finds its rows by id, and planning a large
broadcast refreshes the queue's statistics itself."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import repository as repo
from hushcast.delivery import store as store_module
from hushcast.delivery.store import SqlDeliveryStore
from tests.support.broadcasts import add_message, app_id, register

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


def _fill(db: Database, app: int, rows: int) -> list[tuple[int, str]]:
    """``rows`` queued rows of ``app`` inserted after an ANALYZE of the empty queue of a
    new install (stale statistics)."""
    with db.transaction() as conn:
        # Empty as on a new install: wipe() deletes rows, which leaves pages behind, and
        # statistics of a queue with pages but no rows are another state (see
        # docs/reliability.md, "Not covered").
        conn.execute(text("TRUNCATE deliveries CASCADE"))
        conn.execute(text("ANALYZE deliveries"))
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO deliveries (organization_id, app_id, message_id, kind, priority,"
                " token, status, attempts, available_at, created_at)"
                " SELECT 1, :app, 1, 'smartsend', 0, (500000 + i)::text, 'IN_QUEUE', 0,"
                " :now, :now FROM generate_series(1, :rows) AS i"
            ),
            {"app": app, "now": utcnow(), "rows": rows},
        )
        got = conn.execute(
            text("SELECT id, token FROM deliveries WHERE app_id = :a ORDER BY id LIMIT 20"),
            {"a": app},
        ).all()
    return [(int(i), str(t)) for i, t in got]


def test_pre_send_check_reads_its_rows_by_id_whatever_the_statistics(
    db: Database, app_uuid: str
) -> None:
    app = app_id(db, app_uuid)
    targets = _fill(db, app, 30_000)
    seen: list[tuple[str, Any]] = []
    with db.read() as conn:

        def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        event.listen(conn, "before_cursor_execute", capture)
        assert len(repo.pre_send_state(conn, app, targets, utcnow())) == 20
        event.remove(conn, "before_cursor_execute", capture)
        statement, params = seen[-1]
        plan = "\n".join(
            str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + statement, params).all()
        )
    # The rows come from the primary key, one probe per target, not from a scan of the
    # bot's rows into a hash (371 ms at 200,000 rows).
    assert "pk_deliveries" in plan, plan
    assert "ix_deliveries_claim" not in plan and "Hash Join" not in plan, plan


def test_planning_a_large_broadcast_refreshes_the_queue_statistics(
    client: TestClient, db: Database, app_uuid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STATISTICS_ROWS", 5)
    register(client, app_uuid, [(str(7000 + i), f"s{i}") for i in range(8)])
    mid = add_message(db)
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid})
    assert r.status_code == 200, r.text

    def analyzed() -> Any:
        with db.read() as conn:
            return conn.execute(
                text(
                    "SELECT COALESCE(analyze_count, 0) FROM pg_stat_user_tables"
                    " WHERE relname = 'deliveries'"
                )
            ).scalar()

    before = analyzed()
    store = SqlDeliveryStore(db)
    while asyncio.run(store.plan(app_id(db, app_uuid), 3)):
        pass
    # pg_stat counters are updated asynchronously by the server: wait a moment.
    for _ in range(50):
        if analyzed() > before:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert analyzed() > before


def _half_sent_broadcast(client: TestClient, db: Database, app_uuid: str) -> int:
    """A broadcast of 30,000 rows analysed while all were queued, then its lowest 20,000
    sent: as a large broadcast is half-way through (sent rows are the lowest ids)."""
    mid = add_message(db)
    r = client.post(
        "/v1/broadcast",
        json={"messageId": mid, "appId": app_uuid, "startDate": "2099-01-01T00:00"},
    )
    assert r.status_code == 200, r.text
    bid = int(r.json()["broadcastId"])
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO deliveries (organization_id, app_id, broadcast_id, message_id, kind,"
                " priority, token, status, attempts, available_at, created_at)"
                " SELECT 1, :app, :bid, :mid, 'broadcast', 1, (800000 + i)::text, 'IN_QUEUE',"
                " 0, :now, :now FROM generate_series(1, 30000) AS i"
            ),
            {"app": app_id(db, app_uuid), "bid": bid, "mid": mid, "now": utcnow()},
        )
    with db.transaction() as conn:
        conn.execute(text("ANALYZE deliveries"))
    with db.transaction() as conn:
        conn.execute(
            text(
                "UPDATE deliveries SET status = 'DELIVERED' WHERE id IN (SELECT id FROM"
                " deliveries WHERE broadcast_id = :bid ORDER BY id LIMIT 20000)"
            ),
            {"bid": bid},
        )
    return bid


def test_broadcast_claim_reads_queued_rows_through_the_broadcast_index(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    bid = _half_sent_broadcast(client, db, app_uuid)
    params = {
        "sending": "SENDING",
        "in_queue": "IN_QUEUE",
        "lease_until": utcnow(),
        "now": utcnow(),
        "broadcast_id": bid,
        "limit": 200,
    }
    with db.read() as conn:
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(text("EXPLAIN " + repo._PG_CLAIM_BROADCAST.text), params)
        )
        # The form it replaced: the planner walks the primary key, filtering out the
        # 20,000 rows already sent before it finds a queued one.
        old = (
            "EXPLAIN SELECT id FROM deliveries WHERE broadcast_id = :broadcast_id"
            " AND status = :in_queue AND available_at <= :now ORDER BY id LIMIT :limit"
        )
        old_plan = "\n".join(str(r[0]) for r in conn.execute(text(old), params))
    # The old form's walk: the primary key in id order, broadcast and status as a filter.
    walk = re.compile(r"Index Scan using pk_deliveries on deliveries .*\n\s+Filter: .*broadcast_id")
    assert walk.search(old_plan), old_plan
    assert not walk.search(plan), plan
    assert "Index Scan using ix_deliveries_broadcast_status" in plan, plan

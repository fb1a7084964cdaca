"""The activity reports (GET /v2/contacts/activity, /v2/contacts/messages) read finished
delivery rows through the partial indexes of migration 0005c, not a scan of the whole
queue: PostgreSQL's EXPLAIN of the very statements the repository runs names them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.yespo import event_repository
from tests.support.broadcasts import app_id

ORGS = 50
ROWS = 30_000


def _fill(db: Database, app: int) -> None:
    """30,000 rows over 50 organisations and 5,000 contacts; one in five still queued."""
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO deliveries (organization_id, app_id, message_id, kind, priority,"
                " token, contact_id, status, attempts, available_at, created_at, finished_at)"
                " SELECT 1000 + i % :orgs, :app, 1, 'smartsend', 0, i::text, 100000 + i % 5000,"
                " CASE WHEN i % 5 = 0 THEN 'IN_QUEUE' ELSE 'DELIVERED' END, 0, :now, :now,"
                " CASE WHEN i % 5 = 0 THEN NULL ELSE :now - i * interval '1 second' END"
                " FROM generate_series(1, :rows) AS i"
            ),
            {"orgs": ORGS, "app": app, "now": utcnow(), "rows": ROWS},
        )
        conn.execute(text("ANALYZE deliveries"))


def _plan(db: Database, **query: Any) -> str:
    """EXPLAIN of the statement event_repository.activity sends, with its parameters."""
    seen: list[tuple[str, Any]] = []
    with db.read() as conn:

        def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        event.listen(conn, "before_cursor_execute", capture)
        now = utcnow()
        event_repository.activity(
            conn,
            1007,
            now - timedelta(days=1),
            now + timedelta(minutes=1),
            0,
            500,
            query.get("contact_ids"),
            None,
        )
        event.remove(conn, "before_cursor_execute", capture)
        statement, params = seen[-1]
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_activity_reads_through_the_partial_indexes(db: Database, app_uuid: str) -> None:
    _fill(db, app_id(db, app_uuid))
    plan = _plan(db)
    assert "ix_deliveries_org_finished" in plan, plan
    plan = _plan(db, contact_ids=[100007, 100057])
    assert "ix_deliveries_contact_finished" in plan, plan

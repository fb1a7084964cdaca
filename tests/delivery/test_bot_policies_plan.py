"""The pre-send check asks per group of rows whether any contact of the bot's organisation
has its own quiet hours. That question must not grow with the organisation: the plan of
the very statement ``policy_repository.bot_policies`` sends reads no contacts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from hushcast.core.db import Database
from hushcast.delivery import policy_repository
from tests.support.broadcasts import app_id


def _plan(db: Database, app: int) -> str:
    seen: list[tuple[str, Any]] = []
    with db.read() as conn:

        def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        event.listen(conn, "before_cursor_execute", capture)
        policy_repository.bot_policies(conn, app)
        event.remove(conn, "before_cursor_execute", capture)
        statement, params = seen[-1]
        prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + statement, params).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_contact_quiet_hours_are_found_without_reading_contacts(
    db: Database, app_uuid: str
) -> None:
    plan = _plan(db, app_id(db, app_uuid))
    assert "contacts" not in plan.replace("contact_quiet_hours", ""), plan
    if db.engine.dialect.name == "sqlite":
        assert "ix_contact_quiet_hours_organization_id" in plan, plan


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_plan_test_sees_a_scan_of_contacts(db: Database, app_uuid: str) -> None:
    """The check above can fail: the old form of the question, through contacts, is
    planned as a walk over the organisation's contacts."""
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM contact_quiet_hours"
            " JOIN contacts ON contacts.id = contact_quiet_hours.contact_id"
            " WHERE contacts.organization_id = 1)"
        ).all()
    assert "contacts" in "\n".join(str(r[-1]) for r in rows).replace("contact_quiet_hours", "")

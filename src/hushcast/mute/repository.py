"""All SQL for mutes and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from hushcast.mute.models import mute_events, mutes


def current(conn: Connection, app_id: int, tokens: Sequence[str]) -> dict[str, datetime]:
    if len(tokens) == 1:
        value = conn.execute(
            select(mutes.c.muted_until).where(mutes.c.app_id == app_id, mutes.c.token == tokens[0])
        ).scalar()
        return {tokens[0]: value} if value is not None else {}
    rows = conn.execute(
        select(mutes.c.token, mutes.c.muted_until).where(
            mutes.c.app_id == app_id, mutes.c.token.in_(list(tokens))
        )
    )
    return {t: u for t, u in rows}


def upsert(
    conn: Connection, app_id: int, tokens: Sequence[str], until: datetime, now: datetime
) -> None:
    rows = [{"app_id": app_id, "token": t, "muted_until": until, "updated_at": now} for t in tokens]
    dialect_insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(mutes)
    stmt = stmt.on_conflict_do_update(
        index_elements=[mutes.c.app_id, mutes.c.token],
        set_={"muted_until": stmt.excluded.muted_until, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, rows)


def remove(conn: Connection, app_id: int, tokens: Sequence[str]) -> None:
    conn.execute(delete(mutes).where(mutes.c.app_id == app_id, mutes.c.token.in_(list(tokens))))


def record_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    if events:
        conn.execute(mute_events.insert(), events)


def history(conn: Connection, app_id: int, token: str, limit: int = 100) -> list[Any]:
    return list(
        conn.execute(
            select(mute_events)
            .where(mute_events.c.app_id == app_id, mute_events.c.token == token)
            .order_by(mute_events.c.id.desc())
            .limit(limit)
        )
    )

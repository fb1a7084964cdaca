"""All SQL for mutes and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects import sqlite

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
    if conn.dialect.name == "postgresql":
        # One statement over arrays: executemany without server-side prepared
        # statements costs a parse and a round trip per row (0.2-0.4 s per 1,000).
        conn.execute(
            text(
                "INSERT INTO mutes (app_id, token, muted_until, updated_at)"
                " SELECT :app_id, t, :until, :now FROM unnest(CAST(:tokens AS VARCHAR[])) AS t"
                " ON CONFLICT (app_id, token) DO UPDATE"
                " SET muted_until = EXCLUDED.muted_until, updated_at = EXCLUDED.updated_at"
            ),
            {"app_id": app_id, "until": until, "now": now, "tokens": list(tokens)},
        )
        return
    rows = [{"app_id": app_id, "token": t, "muted_until": until, "updated_at": now} for t in tokens]
    stmt = sqlite.insert(mutes)
    stmt = stmt.on_conflict_do_update(
        index_elements=[mutes.c.app_id, mutes.c.token],
        set_={"muted_until": stmt.excluded.muted_until, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, rows)


def remove(conn: Connection, app_id: int, tokens: Sequence[str]) -> None:
    conn.execute(delete(mutes).where(mutes.c.app_id == app_id, mutes.c.token.in_(list(tokens))))


def record_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    if conn.dialect.name == "postgresql":
        # One INSERT ... SELECT FROM unnest(arrays), for the same reason as upsert.
        conn.execute(
            text(
                "INSERT INTO mute_events (app_id, token, action, old_muted_until,"
                " new_muted_until, api_key_id, at) SELECT * FROM unnest("
                "CAST(:app_id AS BIGINT[]), CAST(:token AS VARCHAR[]), CAST(:action AS VARCHAR[]),"
                " CAST(:old AS TIMESTAMP[]), CAST(:new AS TIMESTAMP[]),"
                " CAST(:api_key_id AS BIGINT[]), CAST(:at AS TIMESTAMP[]))"
            ),
            {
                "app_id": [e["app_id"] for e in events],
                "token": [e["token"] for e in events],
                "action": [e["action"] for e in events],
                "old": [e["old_muted_until"] for e in events],
                "new": [e["new_muted_until"] for e in events],
                "api_key_id": [e["api_key_id"] for e in events],
                "at": [e["at"] for e in events],
            },
        )
        return
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

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


_PG_MUTE = text(
    # One round trip: the previous mutes (snapshot before the upsert), the upsert,
    # and one history row per chat. Data-modifying CTEs always run to completion.
    "WITH prev AS ("
    "  SELECT token, muted_until FROM mutes"
    "  WHERE app_id = :app_id AND token = ANY(CAST(:tokens AS VARCHAR[]))"
    "), up AS ("
    "  INSERT INTO mutes (app_id, token, muted_until, updated_at)"
    "  SELECT :app_id, t, :until, :now FROM unnest(CAST(:tokens AS VARCHAR[])) AS t"
    "  ON CONFLICT (app_id, token) DO UPDATE"
    "  SET muted_until = EXCLUDED.muted_until, updated_at = EXCLUDED.updated_at"
    "  RETURNING 1"
    ") INSERT INTO mute_events"
    " (app_id, token, action, old_muted_until, new_muted_until, api_key_id, at)"
    " SELECT :app_id, t, 'mute', prev.muted_until, :until, :api_key_id, :now"
    " FROM unnest(CAST(:tokens AS VARCHAR[])) WITH ORDINALITY AS u(t, n)"
    " LEFT JOIN prev ON prev.token = u.t ORDER BY u.n"
)

_PG_UNMUTE = text(
    "WITH prev AS ("
    "  DELETE FROM mutes"
    "  WHERE app_id = :app_id AND token = ANY(CAST(:tokens AS VARCHAR[]))"
    "  RETURNING token, muted_until"
    ") INSERT INTO mute_events"
    " (app_id, token, action, old_muted_until, new_muted_until, api_key_id, at)"
    " SELECT :app_id, t, 'unmute', prev.muted_until, NULL, :api_key_id, :now"
    " FROM unnest(CAST(:tokens AS VARCHAR[])) WITH ORDINALITY AS u(t, n)"
    " LEFT JOIN prev ON prev.token = u.t ORDER BY u.n"
)


def apply_mute(
    conn: Connection,
    app_id: int,
    tokens: Sequence[str],
    until: datetime,
    now: datetime,
    api_key_id: int | None,
) -> None:
    """Sets the mutes and records one history row per chat (old and new mutedUntil)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            _PG_MUTE,
            {
                "app_id": app_id,
                "tokens": list(tokens),
                "until": until,
                "now": now,
                "api_key_id": api_key_id,
            },
        )
        return
    old = current(conn, app_id, tokens)
    upsert(conn, app_id, tokens, until, now)
    record_events(conn, _events(app_id, tokens, "mute", old, until, api_key_id, now))


def apply_unmute(
    conn: Connection, app_id: int, tokens: Sequence[str], now: datetime, api_key_id: int | None
) -> None:
    """Ends the mutes now and records one history row per chat."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            _PG_UNMUTE,
            {"app_id": app_id, "tokens": list(tokens), "now": now, "api_key_id": api_key_id},
        )
        return
    old = current(conn, app_id, tokens)
    if old:
        remove(conn, app_id, list(old))
    record_events(conn, _events(app_id, tokens, "unmute", old, None, api_key_id, now))


def _events(
    app_id: int,
    tokens: Sequence[str],
    action: str,
    old: dict[str, datetime],
    new: datetime | None,
    api_key_id: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "app_id": app_id,
            "token": t,
            "action": action,
            "old_muted_until": old.get(t),
            "new_muted_until": new,
            "api_key_id": api_key_id,
            "at": now,
        }
        for t in tokens
    ]


def history(conn: Connection, app_id: int, token: str, limit: int = 100) -> list[Any]:
    return list(
        conn.execute(
            select(mute_events)
            .where(mute_events.c.app_id == app_id, mute_events.c.token == token)
            .order_by(mute_events.c.id.desc())
            .limit(limit)
        )
    )

"""All SQL for mutes and their history."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects import sqlite

from hushcast.delivery import lease_repository
from hushcast.delivery import policy_repository as policy_repo
from hushcast.mute.models import mute_events, mutes
from hushcast.webhooks import repository as webhooks_repo


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


def remove(conn: Connection, app_id: int, tokens: Sequence[str]) -> None:
    conn.execute(delete(mutes).where(mutes.c.app_id == app_id, mutes.c.token.in_(list(tokens))))


def record_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    """History rows for SQLite's unmute (PostgreSQL writes them inside its one statement)."""
    if events:
        conn.execute(mute_events.insert(), events)


def _mute_sql(dialect: str, app_filter: str, pg_tail: str = ") SELECT id FROM app") -> list[str]:
    """The statements of a mute for the app chosen by ``app_filter`` over ``apps a``.

    Every statement finds the app itself, so for an app that does not exist (or belongs
    to another organisation) nothing is written, and the first statement says so.
    ``pg_tail`` ends PostgreSQL's one statement: more CTEs and the final SELECT.
    """
    if dialect == "postgresql":
        # One round trip: the app, the previous mutes (snapshot before the upsert), the
        # upsert, and one history row per chat. Data-modifying CTEs always run to completion.
        return [
            f"WITH app AS (SELECT a.id FROM apps a WHERE {app_filter}"
            "), prev AS ("
            "  SELECT m.token, m.muted_until FROM mutes m JOIN app ON m.app_id = app.id"
            "  WHERE m.token = ANY(CAST(:tokens AS VARCHAR[]))"
            "), up AS ("
            "  INSERT INTO mutes (app_id, token, muted_until, updated_at)"
            "  SELECT app.id, t, :until, :now FROM app, unnest(CAST(:tokens AS VARCHAR[])) AS t"
            "  ON CONFLICT (app_id, token) DO UPDATE"
            "  SET muted_until = EXCLUDED.muted_until, updated_at = EXCLUDED.updated_at"
            "  RETURNING 1"
            "), ev AS ("
            "  INSERT INTO mute_events"
            "  (app_id, token, action, old_muted_until, new_muted_until, api_key_id, source, at)"
            "  SELECT app.id, u.t, 'mute', prev.muted_until, :until, :api_key_id, :source, :now"
            "  FROM app CROSS JOIN unnest(CAST(:tokens AS VARCHAR[])) WITH ORDINALITY AS u(t, n)"
            "  LEFT JOIN prev ON prev.token = u.t ORDER BY u.n"
            "  RETURNING 1" + pg_tail
        ]
    # SQLite, per chat: the history row, reading the mute it replaces, then the upsert
    # (run with executemany for a bulk request). SQLite needs the WHERE before ON CONFLICT
    # in an INSERT ... SELECT upsert; there always is one here.
    return [
        "INSERT INTO mute_events"
        " (app_id, token, action, old_muted_until, new_muted_until, api_key_id, source, at)"
        " SELECT a.id, :token, 'mute',"
        " (SELECT m.muted_until FROM mutes m WHERE m.app_id = a.id AND m.token = :token),"
        f" :until, :api_key_id, :source, :now FROM apps a WHERE {app_filter}",
        "INSERT INTO mutes (app_id, token, muted_until, updated_at)"
        f" SELECT a.id, :token, :until, :now FROM apps a WHERE {app_filter}"
        " ON CONFLICT (app_id, token) DO UPDATE"
        " SET muted_until = excluded.muted_until, updated_at = excluded.updated_at",
    ]


def _driver_sql(dialect: str, sql: str) -> str:
    """``:name`` parameters in the driver's own style (psycopg: ``%(name)s``)."""
    if dialect == "postgresql":
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
    return sql  # sqlite3 takes :name as it is


_BY_ID = "a.id = :app_id"
_BY_UUID = "a.uuid = :uuid AND a.organization_id = :org_id"
# Driver SQL, built once: SQLAlchemy's per-call work for a Core statement (building the
# construct, its cache key, bind processing) cost more than running the statements.
# (PostgreSQL by uuid is _PG_MUTE_BY_UUID below: the mute with what its answer needs.)
_MUTE_SQL = {
    (dialect, by): [_driver_sql(dialect, sql) for sql in _mute_sql(dialect, by)]
    for dialect, by in (("sqlite", _BY_ID), ("sqlite", _BY_UUID), ("postgresql", _BY_ID))
}
# The text SQLAlchemy's DateTime stores on SQLite, so these rows read like all others.
_sqlite_datetime = sqlite.DATETIME().bind_processor(sqlite.dialect())
assert _sqlite_datetime is not None
_SQLITE_DATETIME: Callable[[datetime], str] = _sqlite_datetime


def _apply_mute(
    conn: Connection,
    by: str,
    key: dict[str, Any],
    tokens: Sequence[str],
    until: datetime,
    now: datetime,
    api_key_id: int | None,
    source: str | None,
) -> bool:
    if conn.dialect.name == "postgresql":
        (sql,) = _MUTE_SQL["postgresql", by]
        params = {**key, "tokens": list(tokens), "until": until, "now": now}
        params["api_key_id"] = api_key_id
        params["source"] = source
        return conn.exec_driver_sql(sql, params).first() is not None
    history, upsert = _MUTE_SQL["sqlite", by]
    stamps = {"until": _SQLITE_DATETIME(until), "now": _SQLITE_DATETIME(now)}
    who = {"api_key_id": api_key_id, "source": source}
    rows = [{**key, **stamps, **who, "token": t} for t in tokens]
    args: Any = rows[0] if len(rows) == 1 else rows
    if conn.exec_driver_sql(history, args).rowcount <= 0:
        return False  # no such app: nothing was written
    conn.exec_driver_sql(upsert, args)
    return True


def apply_mute(
    conn: Connection,
    app_id: int,
    tokens: Sequence[str],
    until: datetime,
    now: datetime,
    api_key_id: int | None,
    source: str | None = None,
) -> None:
    """Sets the mutes and records one history row per chat (old and new mutedUntil, and
    who: ``api_key_id`` and ``source``, see mute/actors.py)."""
    _apply_mute(conn, _BY_ID, {"app_id": app_id}, tokens, until, now, api_key_id, source)


@dataclass(frozen=True)
class MuteWritten:
    """A mute by uuid, written; what its follow-ups need (mute/service.py)."""

    # Held rows of these chats put back in the queue (the bot's workers are to be woken).
    released: int
    # The bot; None only on SQLite when no row was released (nothing needs it there).
    app_id: int | None
    # A worker holds the bot's lease: the answer waits out the fence (mute/fence.py).
    sending: bool
    # The organisation may have webhooks listening: the events are to be written.
    subscribed: bool


# PostgreSQL: the mute, its history, the release of the chats' held rows
# (delivery/holds.py) and the reads its answer needs, in one statement. Each of these was
# its own round trip, and a mute waits on its round trips: the API process and
# PostgreSQL share the machine's cores, and every round trip is two context switches and
# a statement to parse (no prepared statements, see core/db.py).
_PG_MUTE_BY_UUID = _driver_sql(
    "postgresql",
    _mute_sql(
        "postgresql",
        _BY_UUID,
        f"), released AS ({policy_repo.RELEASE_HELD_CTE_PG})"
        " SELECT app.id, (SELECT count(*) FROM released),"
        f" {lease_repository.SENDING_PROBE_PG}, {webhooks_repo.SUBSCRIBED_PROBE_PG} FROM app",
    )[0],
)


def apply_mute_by_uuid(
    conn: Connection,
    org_id: int,
    app_uuid: str,
    tokens: Sequence[str],
    until: datetime,
    now: datetime,
    api_key_id: int | None,
) -> MuteWritten | None:
    """apply_mute for the organisation's app with this (canonical) uuid, looked up by the
    same statements, and the release of the chats' held rows (delivery/holds.py: every
    path that replaces a mute releases them). None, with nothing written, when the
    organisation has no such app."""
    key = {"uuid": app_uuid, "org_id": org_id}
    if conn.dialect.name == "postgresql":
        params = {**key, "tokens": list(tokens), "until": until, "now": now}
        params["api_key_id"] = api_key_id
        params["source"] = None
        row = conn.exec_driver_sql(_PG_MUTE_BY_UUID, params).first()
        if row is None:
            return None
        app_id, released, sending, subscribed = row
        return MuteWritten(int(released), int(app_id), bool(sending), bool(subscribed))
    if not _apply_mute(conn, _BY_UUID, key, tokens, until, now, api_key_id, None):
        return None
    chats = [str(t) for t in tokens]
    released = policy_repo.release_held(conn, chats, now, org_id=org_id, app_uuid=app_uuid)
    app_id = policy_repo.held_app_of_uuid(conn, org_id, app_uuid) if released else None
    sending = lease_repository.is_sending(conn, now, org_id=org_id, app_uuid=app_uuid)
    # The subscriptions are read by the webhook outbox itself.
    return MuteWritten(released, app_id, sending, subscribed=True)


_PG_UNMUTE = text(
    "WITH prev AS ("
    "  DELETE FROM mutes"
    "  WHERE app_id = :app_id AND token = ANY(CAST(:tokens AS VARCHAR[]))"
    "  RETURNING token, muted_until"
    ") INSERT INTO mute_events"
    " (app_id, token, action, old_muted_until, new_muted_until, api_key_id, source, at)"
    " SELECT :app_id, t, 'unmute', prev.muted_until, NULL, :api_key_id, :source, :now"
    " FROM unnest(CAST(:tokens AS VARCHAR[])) WITH ORDINALITY AS u(t, n)"
    " LEFT JOIN prev ON prev.token = u.t ORDER BY u.n"
)


def apply_unmute(
    conn: Connection,
    app_id: int,
    tokens: Sequence[str],
    now: datetime,
    api_key_id: int | None,
    source: str | None = None,
) -> None:
    """Ends the mutes now and records one history row per chat."""
    if conn.dialect.name == "postgresql":
        params = {"app_id": app_id, "tokens": list(tokens), "now": now}
        conn.execute(_PG_UNMUTE, {**params, "api_key_id": api_key_id, "source": source})
        return
    old = current(conn, app_id, tokens)
    if old:
        remove(conn, app_id, list(old))
    events = _events(app_id, tokens, "unmute", old, None, api_key_id, now)
    record_events(conn, [{**e, "source": source} for e in events])


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


def history_all(conn: Connection, app_id: int, token: str) -> list[Any]:
    """Every change of one chat's mute, oldest first (the history API)."""
    return list(
        conn.execute(
            select(mute_events)
            .where(mute_events.c.app_id == app_id, mute_events.c.token == token)
            .order_by(mute_events.c.id)
        )
    )

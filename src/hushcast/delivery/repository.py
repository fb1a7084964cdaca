"""The delivery queue's SQL: claims, pre-send checks, outcomes, migrations, the rows'
messages. Which worker sends for which bot is in ``lease_repository.py``; the
eligibility pipeline's reads in ``policy_repository.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    String,
    and_,
    any_,
    bindparam,
    column,
    exists,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import app_tokens, contacts
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.messages.render import ContactData
from hushcast.mute.models import mutes


def load_app(conn: Connection, app_id: int) -> Any:
    return conn.execute(select(apps).where(apps.c.id == app_id)).first()


CLAIM_COLUMNS = (
    deliveries.c.id,
    deliveries.c.kind,
    deliveries.c.token,
    deliveries.c.contact_id,
    deliveries.c.message_id,
    deliveries.c.json_param,
    deliveries.c.broadcast_id,
    deliveries.c.attempts,
    deliveries.c.language_code,
)


def _claim_where(conn: Connection, stmt: Any) -> Any:
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def claim(
    conn: Connection,
    app_id: int,
    running_broadcasts: Sequence[int],
    limit: int,
    now: datetime,
    lease_until: datetime,
) -> list[Any]:
    """Claims up to ``limit`` due rows: transactional first, then broadcasts in id order."""
    rows: list[Any] = list(
        conn.execute(
            _claim_where(
                conn,
                select(*CLAIM_COLUMNS)
                .where(
                    deliveries.c.app_id == app_id,
                    deliveries.c.status == st.IN_QUEUE,
                    deliveries.c.priority == st.PRIORITY_TRANSACTIONAL,
                    deliveries.c.available_at <= now,
                )
                .order_by(deliveries.c.id)
                .limit(limit),
            )
        )
    )
    for broadcast_id in running_broadcasts:
        if len(rows) >= limit:
            break
        rows.extend(
            conn.execute(
                _claim_where(
                    conn,
                    select(*CLAIM_COLUMNS)
                    .where(
                        deliveries.c.broadcast_id == broadcast_id,
                        deliveries.c.status == st.IN_QUEUE,
                        deliveries.c.available_at <= now,
                    )
                    .order_by(deliveries.c.id)
                    .limit(limit - len(rows)),
                )
            )
        )
    if rows:
        ids = [r.id for r in rows]
        for i in range(0, len(ids), 900):
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids[i : i + 900]))
                .values(status=st.SENDING, lease_until=lease_until)
            )
    return rows


# PostgreSQL: one statement per source claims the rows (SKIP LOCKED) and returns them
# with their contacts. The ids come from ARRAY(SELECT ...) so the locking subquery runs
# once; no id list goes back and forth, where a 1,000-id IN list cost more Python
# time (expanding and converting the parameters) than the database's own work.
#
# A broadcast's rows are found through (broadcast_id, status, id), written so that no
# other plan is possible: with ``status = :in_queue ... ORDER BY id`` the planner took
# the primary key in id order, filtering by status, because it assumes queued rows are
# spread evenly; they are not (the sent ones are all the lowest ids), so each claim
# walked every row already sent: 335 ms per claim half-way through 1,000,000 rows
# ("Rows Removed by Filter: 475,765"), the send falling from 900 to 300/s. A range on
# status, with status in the ORDER BY, is an order only that index gives.
_PG_CLAIM = (
    "WITH claimed AS ("
    " UPDATE deliveries SET status = :sending, lease_until = :lease_until"
    " WHERE id = ANY(ARRAY("
    "  SELECT id FROM deliveries WHERE {where}"
    "  AND available_at <= :now ORDER BY {order} LIMIT :limit FOR UPDATE SKIP LOCKED))"
    " RETURNING id, kind, token, contact_id, message_id, json_param, broadcast_id, attempts,"
    " language_code"
    ") SELECT claimed.*, c.id AS found_contact_id, c.first_name, c.last_name, c.email, c.phone,"
    " c.external_customer_id, c.fields"
    " FROM claimed LEFT JOIN contacts AS c ON c.id = claimed.contact_id"
    " ORDER BY claimed.id"
)
# (app_id, status, priority, id); the range form made the planner scan the table here.
_PG_CLAIM_TRANSACTIONAL = text(
    _PG_CLAIM.format(
        where="app_id = :app_id AND priority = :priority AND status = :in_queue", order="id"
    )
)
_PG_CLAIM_BROADCAST = text(
    _PG_CLAIM.format(
        where="broadcast_id = :broadcast_id AND status >= :in_queue AND status <= :in_queue",
        order="status, id",
    )
)


def claim_with_contacts(
    conn: Connection,
    app_id: int,
    running_broadcasts: Sequence[int],
    limit: int,
    now: datetime,
    lease_until: datetime,
) -> list[tuple[Any, ContactData | None]]:
    """Claims like :func:`claim` and returns each row with its contact (or None), ready
    for rendering: built once per claim, not once per send."""
    if conn.dialect.name != "postgresql":
        rows = claim(conn, app_id, running_broadcasts, limit, now, lease_until)
        found = contacts_by_id(
            conn, sorted({int(r.contact_id) for r in rows if r.contact_id is not None})
        )
        out: list[tuple[Any, ContactData | None]] = []
        for r in rows:
            c = found.get(int(r.contact_id)) if r.contact_id is not None else None
            out.append((r, None if c is None else _contact(c)))
        return out
    params: dict[str, Any] = {
        "sending": st.SENDING,
        "in_queue": st.IN_QUEUE,
        "lease_until": lease_until,
        "now": now,
    }
    got: list[Any] = list(
        conn.execute(
            _PG_CLAIM_TRANSACTIONAL,
            {**params, "app_id": app_id, "priority": st.PRIORITY_TRANSACTIONAL, "limit": limit},
        )
    )
    for broadcast_id in running_broadcasts:
        if len(got) >= limit:
            break
        got.extend(
            conn.execute(
                _PG_CLAIM_BROADCAST,
                {**params, "broadcast_id": broadcast_id, "limit": limit - len(got)},
            )
        )
    return [
        (r, None if r.found_contact_id is None else _contact(r, int(r.found_contact_id)))
        for r in got
    ]


def _contact(r: Any, contact_id: int | None = None) -> ContactData:
    """A contact row (or a claim row joined to one) as what merge tags read."""
    return ContactData(
        first_name=r.first_name,
        last_name=r.last_name,
        email=r.email,
        phone=r.phone,
        external_customer_id=r.external_customer_id,
        contact_id=int(r.id) if contact_id is None else contact_id,
        fields=r.fields if isinstance(r.fields, dict) else None,
    )


# Built once, as the other statements every claim runs (policy_repository._RELEASE_DUE).
_RUNNING_BROADCASTS = (
    select(broadcasts.c.id)
    .where(broadcasts.c.app_id == bindparam("app_id"), broadcasts.c.status == st.B_RUNNING)
    .order_by(broadcasts.c.id)
)


def running_broadcasts(conn: Connection, app_id: int) -> list[int]:
    rows = conn.execute(_RUNNING_BROADCASTS, {"app_id": app_id})
    return [int(r[0]) for r in rows]


# The pre-send check joins each row to the chat id it is about to go to (given with the
# row: after a migration it differs from the stored one), never to the stored token.
_PRE_SEND = (
    "SELECT d.id, m.muted_until, a.active, b.status AS broadcast_status,"
    " msg.updated_at AS message_version"
    " FROM {targets}"
    " JOIN deliveries AS d ON d.id = t.id"
    " LEFT JOIN mutes AS m ON m.app_id = d.app_id AND m.token = t.token"
    " AND m.muted_until > :now"
    " LEFT JOIN app_tokens AS a ON a.app_id = d.app_id AND a.token = t.token"
    " LEFT JOIN broadcasts AS b ON b.id = d.broadcast_id"
    " LEFT JOIN messages AS msg ON msg.id = d.message_id"
    " WHERE {app_filter}"
)
# PostgreSQL: IS NOT DISTINCT FROM (the same test: app_id is never NULL) keeps the
# planner from treating the bot's rows as a set to start from. With statistics taken
# before a large broadcast was queued (autovacuum off or behind), it believed the bot
# had one row, scanned all its rows into a hash and joined the mutes by bot only:
# 371 ms per 20-row check at 200,000 rows instead of 0.55 ms (EXPLAIN ANALYZE, round 5
# of BENCHMARKS.md). The rows are found by their ids, whatever the statistics say.
_PG_APP_FILTER = "d.app_id IS NOT DISTINCT FROM :app_id"
_SQLITE_APP_FILTER = "d.app_id = :app_id"


def _pre_send_sql(targets: str, app_filter: str = _SQLITE_APP_FILTER) -> Any:
    return (
        text(_PRE_SEND.format(targets=targets, app_filter=app_filter))
        .bindparams(bindparam("now", type_=DateTime()))
        .columns(
            column("id", BigInteger()),
            column("muted_until", DateTime()),
            column("active", Boolean()),
            column("broadcast_status", String()),
            column("message_version", DateTime()),
        )
    )


_PG_PRE_SEND = _pre_send_sql(
    "unnest(CAST(:ids AS BIGINT[]), CAST(:tokens AS VARCHAR[])) AS t(id, token)",
    _PG_APP_FILTER,
)


def pre_send_state(
    conn: Connection, app_id: int, targets: Sequence[tuple[int, str]], now: datetime
) -> dict[int, Any]:
    """For rows about to be sent, each with the chat id it goes to: is that chat muted
    now, is its token active, the broadcast's status, the message's version
    (``updated_at``; None when the message was deleted). Rows no longer there are absent.

    Run immediately before the requests go out, so a mute committed before this query
    stops the send.
    """
    if not targets:
        return {}
    params: dict[str, Any] = {"now": now, "app_id": app_id}
    if conn.dialect.name == "postgresql":
        params["ids"] = [int(i) for i, _ in targets]
        params["tokens"] = [str(t) for _, t in targets]
        rows = conn.execute(_PG_PRE_SEND, params)
    else:
        values = []
        for n, (row_id, token) in enumerate(targets):
            values.append(f"(:i{n}, :t{n})")
            params[f"i{n}"] = int(row_id)
            params[f"t{n}"] = str(token)
        targets_sql = (
            f"(SELECT column1 AS id, column2 AS token FROM (VALUES {', '.join(values)})) AS t"
        )
        rows = conn.execute(_pre_send_sql(targets_sql), params)
    return {int(r.id): r for r in rows}


def taken_in_broadcast(conn: Connection, targets: Sequence[tuple[int, str]]) -> set[int]:
    """Of these (row id, chat id) pairs, the rows whose broadcast already has another row
    for that chat id (a group moved to a chat the broadcast reaches anyway)."""
    found: set[int] = set()
    other = deliveries.alias("other")
    for row_id, token in targets:
        hit = conn.execute(
            select(deliveries.c.id)
            .join(
                other,
                and_(
                    other.c.broadcast_id == deliveries.c.broadcast_id,
                    other.c.token == token,
                    other.c.id != deliveries.c.id,
                ),
            )
            .where(deliveries.c.id == row_id, deliveries.c.broadcast_id.is_not(None))
            .limit(1)
        ).first()
        if hit is not None:
            found.add(int(row_id))
    return found


def ping(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1")).scalar() == 1


def _id_in(conn: Connection, ids: Sequence[int]) -> Any:
    """``deliveries.id`` in ``ids``: one array parameter on PostgreSQL (fixed SQL text,
    nothing to expand per call), an IN list on SQLite."""
    if conn.dialect.name == "postgresql":
        return deliveries.c.id == any_(
            bindparam("ids", list(ids), type_=postgresql.ARRAY(BigInteger()))
        )
    return deliveries.c.id.in_(list(ids))


def contacts_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = conn.execute(select(contacts).where(contacts.c.id.in_(list(ids))))
    return {int(r.id): r for r in rows}


# The batch is one JSON parameter: psycopg dumps a Python list into an array element by
# element in Python (20 us a row for the ten arrays this took before, about 4 % of the
# worker's CPU at full speed); ``json.dumps`` encodes the same rows in C (5 us a row).
_PG_RECORD_OUTCOMES = text(
    "UPDATE deliveries AS d SET status = u.b_status, error_type = u.b_error_type,"
    " error_name = u.b_error_name, description = u.b_description,"
    " telegram_message_id = u.b_message_id, finished_at = u.b_finished_at,"
    " attempts = u.b_attempts, available_at = u.b_available_at, token = u.b_token,"
    " lease_until = NULL"
    " FROM json_to_recordset(CAST(:outcomes AS JSON)) AS u(b_id BIGINT, b_status VARCHAR,"
    " b_error_type VARCHAR, b_error_name VARCHAR, b_description TEXT, b_message_id BIGINT,"
    " b_finished_at TIMESTAMP, b_attempts INTEGER, b_available_at TIMESTAMP, b_token VARCHAR)"
    " WHERE d.id = u.b_id"
)


def _json_value(value: Any) -> str:
    """The outcomes' only values that JSON has no type for: naive UTC datetimes."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not an outcome value: {type(value).__name__}")


def record_outcomes(conn: Connection, outcomes: list[dict[str, Any]]) -> None:
    """outcomes: dicts with b_id, b_status, b_error_type, b_error_name, b_description,
    b_message_id, b_finished_at, b_attempts, b_available_at, b_token."""
    if not outcomes:
        return
    if conn.dialect.name == "postgresql":
        # One statement over the whole batch: an executemany costs a round trip and a
        # parse per row, which capped the worker's throughput.
        rows = json.dumps(outcomes, default=_json_value, ensure_ascii=False)
        conn.execute(_PG_RECORD_OUTCOMES, {"outcomes": rows})
        return
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            error_type=bindparam("b_error_type"),
            error_name=bindparam("b_error_name"),
            description=bindparam("b_description"),
            telegram_message_id=bindparam("b_message_id"),
            finished_at=bindparam("b_finished_at"),
            attempts=bindparam("b_attempts"),
            available_at=bindparam("b_available_at"),
            token=bindparam("b_token"),
            lease_until=None,
        ),
        outcomes,
    )


def deactivate_tokens(
    conn: Connection, app_id: int, tokens: Sequence[str], reason: str, now: datetime
) -> None:
    if tokens:
        conn.execute(
            update(app_tokens)
            .where(app_tokens.c.app_id == app_id, app_tokens.c.token.in_(list(tokens)))
            .values(active=False, deactivated_at=now, deactivation_reason=reason[:200])
        )


def migrate_token(conn: Connection, app_id: int, old: str, new: str) -> None:
    """A group became a supergroup: its chat id changes; keep the token (and its mute),
    and move the rows that wait for the chat (held, queued, waiting) to the new id."""
    taken = conn.execute(
        select(app_tokens.c.id).where(app_tokens.c.app_id == app_id, app_tokens.c.token == new)
    ).first()
    if taken is None:
        conn.execute(
            update(app_tokens)
            .where(app_tokens.c.app_id == app_id, app_tokens.c.token == old)
            .values(token=new)
        )
    mute_taken = conn.execute(
        select(mutes.c.token).where(mutes.c.app_id == app_id, mutes.c.token == new)
    ).first()
    if mute_taken is None:
        conn.execute(
            update(mutes).where(mutes.c.app_id == app_id, mutes.c.token == old).values(token=new)
        )
    # Rows held for the old chat id wait for a mute that is now the new id's: an unmute
    # releases held rows by chat id, so they move with it (through the held-rows index).
    # Not where the broadcast already has a row for the new id (one delivery per
    # broadcast and chat): that one stays and is settled by its deadline and the check.
    other = deliveries.alias("other")
    not_there_yet = ~exists().where(
        other.c.broadcast_id == deliveries.c.broadcast_id, other.c.token == new
    )
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.app_id == app_id,
            deliveries.c.token == old,
            deliveries.c.status == st.HELD,
            not_there_yet,
        )
        .values(token=new)
    )
    # Rows of the bot's other broadcasts still queued or waiting for the old id move too:
    # each is then checked (mute, token) and sent for the new id at once, instead of
    # first meeting Telegram's "upgraded" answer (one request each). Found broadcast by
    # broadcast through uq_deliveries_broadcast_token; rows already claimed follow the
    # migration when Telegram answers them.
    live = select(broadcasts.c.id).where(
        broadcasts.c.app_id == app_id, broadcasts.c.status.in_((st.B_RUNNING, st.B_PAUSED))
    )
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.broadcast_id.in_(live),
            deliveries.c.token == old,
            deliveries.c.status.in_((st.IN_QUEUE, st.WAITING)),
            not_there_yet,
        )
        .values(token=new)
    )
    # And the bot's transactional sends queued or waiting for the old id (no broadcast:
    # found through the same index, whose NULL broadcast_id entries they are).
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.broadcast_id.is_(None),
            deliveries.c.token == old,
            deliveries.c.app_id == app_id,
            deliveries.c.status.in_((st.IN_QUEUE, st.WAITING)),
        )
        .values(token=new)
    )


def requeue(conn: Connection, ids: Sequence[int]) -> None:
    """Rows claimed but not sent (shutdown, pause) go back to the queue as they were."""
    for i in range(0, len(ids), 900):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(ids[i : i + 900])), deliveries.c.status == st.SENDING)
            .values(status=st.IN_QUEUE, lease_until=None)
        )


def load_message(conn: Connection, message_id: int) -> Any:
    from hushcast.messages.models import messages

    return conn.execute(select(messages).where(messages.c.id == message_id)).first()


def load_translations(conn: Connection, message_id: int) -> list[Any]:
    """The message's language versions (Yespo's translations), any order."""
    from hushcast.yespo.models import message_translations

    return list(
        conn.execute(
            select(message_translations).where(message_translations.c.message_id == message_id)
        )
    )


def queue_depth(conn: Connection) -> int:
    from sqlalchemy import func

    return int(
        conn.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.status == st.IN_QUEUE)
        ).scalar_one()
    )


def refresh_statistics(conn: Connection) -> None:
    """PostgreSQL: ANALYZE the queue after a broadcast added many rows, so the planner
    sees them (the claim's index choice depends on it: with statistics from before a
    200,000-row broadcast, a claim of 200 rows read 200,000 index entries, 347 ms).
    Autovacuum does the same eventually, when it runs at all. SQLite: nothing."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE deliveries")

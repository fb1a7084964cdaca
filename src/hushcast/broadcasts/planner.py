"""Planning a broadcast: turning its audience into ``deliveries`` rows, batch by batch.

Called by the delivery worker. Every function runs inside the caller's transaction and
never commits. Planning is resumable: each batch covers a range of ``app_tokens`` ids
and moves ``broadcasts.plan_cursor`` in the same transaction, so a crash before the
commit loses the whole batch (and its cursor move) and a crash after it loses nothing;
re-running never queues a recipient twice. Rows are copied by one
``INSERT ... SELECT`` per batch and never pass through Python, so memory does not grow
with the audience.

The audience, precisely: every token of the broadcast's bot (restricted to its groups,
if any) committed before planning started, plus every token committed while planning
runs, up to the batch that completes planning; a token committed after that is not
part of the broadcast. Each planning batch first waits for the transactions writing
``app_tokens`` to end (PostgreSQL: a SHARE lock on the table for the batch's
transaction; SQLite writers are serialised anyway), so a token inserted with a lower id
by a transaction that commits after the cursor moved on cannot be passed over. A chat
id is planned at most once per broadcast (a unique index on ``(broadcast_id, token)``;
the ``INSERT ... SELECT`` skips a chat already queued, e.g. one deleted and registered
again as a new token row mid-broadcast).

Typical use by the worker::

    with db.transaction() as conn:
        due = planner.due_broadcasts(conn, app_id, now)
    for b in due:
        done = False
        while not done:
            with db.transaction() as conn:
                done = planner.plan_batch(conn, b.id, utcnow())
    ...
    with db.transaction() as conn:
        for bid in planner.running_broadcast_ids(conn, app_id):
            planner.finish_if_done(conn, bid, utcnow())
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from hushcast.broadcasts import repository as repo
from hushcast.delivery import status as st
from hushcast.delivery.wakeup import notify_work
from hushcast.yespo import throttle_service

DEFAULT_BATCH_SIZE = 50_000


def due_broadcasts(conn: Connection, app_id: int, now: datetime) -> list[Row[Any]]:
    """Broadcasts of the app to plan now, by id: SCHEDULED with start_date <= now, and
    RUNNING with planned_at NULL (planning was interrupted)."""
    return repo.due(conn, app_id, now)


def total_recipients(conn: Connection, broadcast_id: int) -> int:
    """Rows queued for the broadcast so far (final once it is planned)."""
    return repo.total_recipients(conn, broadcast_id)


def plan_batch(
    conn: Connection, broadcast_id: int, now: datetime, batch_size: int = DEFAULT_BATCH_SIZE
) -> bool:
    """Queues the next batch of the broadcast's recipients; True when planning is complete.

    Locks the broadcast row. A SCHEDULED broadcast becomes RUNNING (started_at = now).
    The batch covers the next ``batch_size`` tokens of the app after ``plan_cursor``;
    of those, the audience's active tokens are queued IN_QUEUE and its inactive ones are
    recorded UNAVAILABLE / TOKEN_INACTIVE (never sent). When the batch reaches the last
    token, planned_at is set and True is returned. total_recipients counts the rows
    queued so far, batch by batch; it is final once planned_at is set.

    Also True, changing nothing, when there is nothing to plan in this call: the
    broadcast is unknown, already planned, or PAUSED / CANCELLED / FINISHED (a paused
    one is picked up again by due_broadcasts once resumed).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    b = repo.lock_broadcast(conn, broadcast_id)
    if b is None or b.planned_at is not None:
        return True
    if b.status not in (st.B_SCHEDULED, st.B_RUNNING):
        return True
    if b.status == st.B_SCHEDULED:
        repo.update_broadcast(conn, b.id, {"status": st.B_RUNNING, "started_at": now})

    cursor = int(b.plan_cursor or 0)
    # Every token with an id up to what this batch reads is committed (or gone) first.
    repo.wait_for_token_writers(conn)
    upper = repo.batch_upper_id(conn, b.app_id, cursor, batch_size)
    # Counted per batch in the same transaction as the cursor: a COUNT(*) of a
    # million rows at the end would cost as much as a batch.
    total = int(b.total_recipients or 0) + repo.queue_batch(conn, b, cursor, upper, now)
    # batchSize / batchIntervalUnit: the rows just queued wait for their interval.
    throttle_service.apply_to_batch(conn, b.id, now)
    # The sender that plans may be done claiming ("queue ran dry"): have it claim again.
    notify_work(conn, int(b.app_id))
    if upper is not None:
        repo.update_broadcast(conn, b.id, {"plan_cursor": upper, "total_recipients": total})
        return False

    last = repo.max_token_id_after(conn, b.app_id, cursor)
    repo.update_broadcast(
        conn,
        b.id,
        {
            "plan_cursor": last if last is not None else b.plan_cursor,
            "planned_at": now,
            "total_recipients": total,
        },
    )
    return True


def finish_if_done(conn: Connection, broadcast_id: int, now: datetime) -> bool:
    """A RUNNING, fully planned broadcast with no row IN_QUEUE or SENDING becomes FINISHED
    (finished_at = now). True if this call finished it."""
    b = repo.lock_broadcast(conn, broadcast_id)
    if b is None or b.status != st.B_RUNNING or b.planned_at is None:
        return False
    if repo.has_pending(conn, b.id):
        return False
    repo.update_broadcast(conn, b.id, {"status": st.B_FINISHED, "finished_at": now})
    return True


def running_broadcast_ids(conn: Connection, app_id: int) -> list[int]:
    """Ids of the app's RUNNING broadcasts, in id order."""
    return repo.running_ids(conn, app_id)

"""Broadcast throttling: storing batchSize / batchIntervalUnit and spreading a planned
batch's recipients over the intervals. Never commits.

``apply_to_batch`` is the planner's hook: called in ``broadcasts.planner.plan_batch``
right after ``repo.queue_batch`` (same transaction), it moves the ``available_at`` of
the rows queued since its last call to the start of their interval; the worker claims
only rows whose ``available_at`` has come, so nothing else changes in delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from hushcast.yespo import throttle
from hushcast.yespo import throttle_repository as repo


def store(conn: Connection, broadcast_id: int, value: tuple[int, str] | None) -> None:
    if value is not None:
        repo.insert_throttle(conn, broadcast_id, value[0], value[1])


def of_broadcasts(conn: Connection, broadcast_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    return {
        bid: (int(r.batch_size), str(r.batch_interval_unit))
        for bid, r in repo.throttles_of(conn, broadcast_ids).items()
    }


def apply_to_batch(conn: Connection, broadcast_id: int, batch_at: datetime) -> None:
    """Spreads the rows planning queued since the last call over the broadcast's
    intervals (for an unthrottled broadcast: one primary-key read, nothing else)."""
    row = repo.throttles_of(conn, [broadcast_id]).get(broadcast_id)
    if row is None:
        return
    size, unit = int(row.batch_size), str(row.batch_interval_unit)
    through = int(row.planned_through_id) if row.planned_through_id is not None else None
    ids = repo.new_row_ids(conn, broadcast_id, through)
    if not ids:
        return
    start = repo.started_at(conn, broadcast_id) or batch_at
    first = int(row.planned_count or 0)
    for offset, count, at in throttle.windows(start, unit, size, first, len(ids)):
        if at > batch_at:
            repo.set_available_at(conn, broadcast_id, ids[offset], ids[offset + count - 1], at)
    repo.record_progress(conn, broadcast_id, ids[-1], first + len(ids))

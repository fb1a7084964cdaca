"""All SQL of broadcast throttling: the stored batchSize / batchIntervalUnit and the
planned rows' available_at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import chunked
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.yespo.models import broadcast_throttles


def insert_throttle(conn: Connection, broadcast_id: int, batch_size: int, unit: str) -> None:
    conn.execute(
        insert(broadcast_throttles).values(
            broadcast_id=broadcast_id,
            batch_size=batch_size,
            batch_interval_unit=unit,
            planned_count=0,
        )
    )


def throttles_of(conn: Connection, broadcast_ids: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in chunked(sorted(set(broadcast_ids))):
        for r in conn.execute(
            select(broadcast_throttles).where(broadcast_throttles.c.broadcast_id.in_(part))
        ):
            out[int(r.broadcast_id)] = r
    return out


def started_at(conn: Connection, broadcast_id: int) -> datetime | None:
    value = conn.execute(
        select(broadcasts.c.started_at).where(broadcasts.c.id == broadcast_id)
    ).scalar()
    return value if isinstance(value, datetime) else None


def new_row_ids(conn: Connection, broadcast_id: int, after_id: int | None) -> list[int]:
    """Ids of the broadcast's sendable rows after ``after_id``, in planning order.
    Inactive tokens are recorded at planning and never sent: they take no slot."""
    conds: list[Any] = [
        deliveries.c.broadcast_id == broadcast_id,
        or_(deliveries.c.error_name.is_(None), deliveries.c.error_name != st.TOKEN_INACTIVE),
    ]
    if after_id is not None:
        conds.append(deliveries.c.id > after_id)
    return [
        int(r[0])
        for r in conn.execute(select(deliveries.c.id).where(*conds).order_by(deliveries.c.id))
    ]


def record_progress(conn: Connection, broadcast_id: int, through_id: int, count: int) -> None:
    conn.execute(
        update(broadcast_throttles)
        .where(broadcast_throttles.c.broadcast_id == broadcast_id)
        .values(planned_through_id=through_id, planned_count=count)
    )


def set_available_at(
    conn: Connection, broadcast_id: int, first_id: int, last_id: int, at: datetime
) -> None:
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.broadcast_id == broadcast_id,
            deliveries.c.id >= first_id,
            deliveries.c.id <= last_id,
            deliveries.c.status == st.IN_QUEUE,
        )
        .values(available_at=at)
    )

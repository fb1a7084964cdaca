"""Which worker sends for which bot: the bots with work, their leases, the pause a 429
sets, and the rows a lost lease left claimed. The mute reads ``is_sending`` (its fence
waits only while a worker holds the bot's lease)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.delivery import status as st
from hushcast.delivery.models import app_leases, deliveries


def _dialect_insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def apps_with_work(conn: Connection, now: datetime) -> list[int]:
    """Apps with queued rows, running broadcasts, or scheduled broadcasts now due."""
    pending = exists().where(
        deliveries.c.app_id == apps.c.id,
        deliveries.c.status.in_(st.PENDING_STATUSES),
    )
    active_broadcast = exists().where(
        broadcasts.c.app_id == apps.c.id,
        or_(
            broadcasts.c.status == st.B_RUNNING,
            and_(broadcasts.c.status == st.B_SCHEDULED, broadcasts.c.start_date <= now),
        ),
    )
    rows = conn.execute(select(apps.c.id).where(or_(pending, active_broadcast)).order_by(apps.c.id))
    return [int(r[0]) for r in rows]


def acquire_lease(
    conn: Connection, app_id: int, worker_id: str, now: datetime, until: datetime
) -> tuple[bool, bool, datetime | None]:
    """Takes or renews the bot's lease. Returns (held, taken_over_from_another, paused_until)."""
    current = conn.execute(
        select(app_leases.c.worker_id, app_leases.c.lease_until, app_leases.c.paused_until).where(
            app_leases.c.app_id == app_id
        )
    ).first()
    if current is None:
        ins = _dialect_insert(conn)(app_leases).values(
            app_id=app_id, worker_id=worker_id, lease_until=until, paused_until=None
        )
        # preserve_rowcount: SQLAlchemy only keeps an INSERT's rowcount when asked
        # (psycopg otherwise reports -1, and a bot's first lease looked "not held").
        res = conn.execute(
            ins.on_conflict_do_nothing(index_elements=[app_leases.c.app_id]).execution_options(
                preserve_rowcount=True
            )
        )
        return res.rowcount == 1, False, None
    if current.worker_id != worker_id and current.lease_until > now:
        return False, False, current.paused_until
    res = conn.execute(
        update(app_leases)
        .where(
            app_leases.c.app_id == app_id,
            or_(app_leases.c.worker_id == worker_id, app_leases.c.lease_until <= now),
        )
        .values(worker_id=worker_id, lease_until=until)
    )
    held = res.rowcount == 1
    return held, held and current.worker_id != worker_id, current.paused_until


def release_lease(conn: Connection, app_id: int, worker_id: str) -> None:
    conn.execute(
        update(app_leases)
        .where(app_leases.c.app_id == app_id, app_leases.c.worker_id == worker_id)
        .values(lease_until=datetime(1970, 1, 1))
    )


_HELD_LEASE = select(app_leases.c.app_id).where(app_leases.c.lease_until > bindparam("now"))
# Built once: every mute reads it (the mute API's profile: building the statement and its
# cache key cost more than running it).
_SENDING_BY_ID = _HELD_LEASE.where(app_leases.c.app_id == bindparam("app_id")).limit(1)
_SENDING_BY_UUID = (
    _HELD_LEASE.join(apps, apps.c.id == app_leases.c.app_id)
    .where(apps.c.organization_id == bindparam("org_id"), apps.c.uuid == bindparam("uuid"))
    .limit(1)
)


# is_sending as an expression over the ``app`` CTE of the PostgreSQL mute's one statement
# (mute/repository.py), at ``:now``.
SENDING_PROBE_PG = (
    "EXISTS (SELECT 1 FROM app_leases l WHERE l.app_id = app.id AND l.lease_until > :now)"
)


def is_sending(
    conn: Connection,
    now: datetime,
    *,
    app_id: int | None = None,
    org_id: int | None = None,
    app_uuid: str | None = None,
) -> bool:
    """Does a worker hold the bot's lease now (by id, or the organisation's app by uuid)?
    A worker holds it exactly while it sends (or may send) for the bot."""
    if app_id is not None:
        result = conn.execute(_SENDING_BY_ID, {"now": now, "app_id": app_id})
    else:
        result = conn.execute(_SENDING_BY_UUID, {"now": now, "org_id": org_id, "uuid": app_uuid})
    return result.first() is not None


def set_paused_until(conn: Connection, app_id: int, until: datetime) -> None:
    conn.execute(update(app_leases).where(app_leases.c.app_id == app_id).values(paused_until=until))


def requeue_abandoned(conn: Connection, app_id: int) -> int:
    """Rows a previous lease holder claimed but never finished go back to the queue.

    Only called right after taking over the bot's lease, when the previous
    holder has been silent for a whole lease period, so none of them is still
    being sent by it.
    """
    res = conn.execute(
        update(deliveries)
        .where(deliveries.c.app_id == app_id, deliveries.c.status == st.SENDING)
        .values(status=st.IN_QUEUE, lease_until=None)
    )
    return int(res.rowcount or 0)

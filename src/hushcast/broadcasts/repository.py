"""All SQL for broadcasts: the API's reads and writes, and the planner's set-based queueing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    Row,
    SmallInteger,
    String,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import app_tokens
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.groups.models import group_contacts, groups
from hushcast.messages.models import messages
from hushcast.yespo.models import contact_profiles

# Columns of a broadcast as the API shows it (with the bot's uuid).
_VIEW_COLUMNS = [*broadcasts.c, apps.c.uuid.label("app_uuid")]


def message_of_org(conn: Connection, org_id: int, message_id: int) -> Any:
    return conn.execute(
        select(messages.c.id, messages.c.name).where(
            messages.c.id == message_id, messages.c.organization_id == org_id
        )
    ).first()


def apps_of_org(conn: Connection, org_id: int, limit: int = 2) -> list[Any]:
    return list(
        conn.execute(
            select(apps.c.id, apps.c.uuid)
            .where(apps.c.organization_id == org_id)
            .order_by(apps.c.id)
            .limit(limit)
        )
    )


def existing_group_ids(conn: Connection, org_id: int, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    rows = conn.execute(
        select(groups.c.id).where(groups.c.organization_id == org_id, groups.c.id.in_(list(ids)))
    )
    return {int(r[0]) for r in rows}


def insert_broadcast(conn: Connection, values: dict[str, Any]) -> int:
    return int(
        conn.execute(insert(broadcasts).values(**values).returning(broadcasts.c.id)).scalar_one()
    )


def get_view(conn: Connection, org_id: int, broadcast_id: int, *, lock: bool = False) -> Any:
    stmt = (
        select(*_VIEW_COLUMNS)
        .join(apps, apps.c.id == broadcasts.c.app_id)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.organization_id == org_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=broadcasts)
    return conn.execute(stmt).first()


def count_for_org(conn: Connection, org_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(broadcasts)
            .where(broadcasts.c.organization_id == org_id)
        ).scalar_one()
    )


def list_for_org(conn: Connection, org_id: int, offset: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(*_VIEW_COLUMNS)
            .join(apps, apps.c.id == broadcasts.c.app_id)
            .where(broadcasts.c.organization_id == org_id)
            .order_by(broadcasts.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def status_counts(conn: Connection, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """broadcast id -> delivery status -> rows (GROUP BY over ix_deliveries_broadcast_status)."""
    if not broadcast_ids:
        return {}
    rows = conn.execute(
        select(deliveries.c.broadcast_id, deliveries.c.status, func.count())
        .where(deliveries.c.broadcast_id.in_(list(broadcast_ids)))
        .group_by(deliveries.c.broadcast_id, deliveries.c.status)
    )
    result: dict[int, dict[str, int]] = {}
    for bid, status, n in rows:
        result.setdefault(int(bid), {})[status] = int(n)
    return result


def update_broadcast(conn: Connection, broadcast_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id).values(**values))


def cancel_queued(conn: Connection, broadcast_id: int, now: datetime) -> int:
    """Every queued row of the broadcast (IN_QUEUE, and parked: WAITING, HELD) becomes
    CANCELLED, in one statement."""
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.broadcast_id == broadcast_id,
            deliveries.c.status.in_((st.IN_QUEUE, *st.PARKED_STATUSES)),
        )
        .values(status=st.CANCELLED, finished_at=now)
    )
    return int(result.rowcount or 0)


# --- planner -------------------------------------------------------------------------------


def due(conn: Connection, app_id: int, now: datetime) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(broadcasts)
            .where(
                broadcasts.c.app_id == app_id,
                or_(
                    and_(broadcasts.c.status == st.B_SCHEDULED, broadcasts.c.start_date <= now),
                    and_(broadcasts.c.status == st.B_RUNNING, broadcasts.c.planned_at.is_(None)),
                ),
            )
            .order_by(broadcasts.c.id)
        )
    )


def total_recipients(conn: Connection, broadcast_id: int) -> int:
    return int(
        conn.execute(
            select(broadcasts.c.total_recipients).where(broadcasts.c.id == broadcast_id)
        ).scalar()
        or 0
    )


def lock_broadcast(conn: Connection, broadcast_id: int) -> Any:
    """The broadcast row, locked until the caller's transaction ends (FOR UPDATE on PostgreSQL;
    SQLite write transactions are already exclusive)."""
    return conn.execute(
        select(broadcasts).where(broadcasts.c.id == broadcast_id).with_for_update()
    ).first()


def wait_for_token_writers(conn: Connection) -> None:
    """On PostgreSQL, waits until every transaction writing ``app_tokens`` has ended, and
    holds new writers back until the caller's transaction ends (SHARE lock).

    Token ids come from a sequence in insertion order, not commit order: without this,
    a token inserted (lower id) by a transaction that commits after the planner's cursor
    passed its id would never be planned. SQLite needs nothing: its writers are
    serialised, and the planner's transaction is one of them.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE app_tokens IN SHARE MODE"))


def batch_upper_id(conn: Connection, app_id: int, cursor: int, batch_size: int) -> int | None:
    """The id of the batch_size-th token of the app after the cursor, or None if fewer remain."""
    value = conn.execute(
        select(app_tokens.c.id)
        .where(app_tokens.c.app_id == app_id, app_tokens.c.id > cursor)
        .order_by(app_tokens.c.id)
        .offset(batch_size - 1)
        .limit(1)
    ).scalar()
    return None if value is None else int(value)


def max_token_id_after(conn: Connection, app_id: int, cursor: int) -> int | None:
    value = conn.execute(
        select(func.max(app_tokens.c.id)).where(
            app_tokens.c.app_id == app_id, app_tokens.c.id > cursor
        )
    ).scalar()
    return None if value is None else int(value)


def _in_groups(group_ids: Sequence[int]) -> Any:
    return exists().where(
        group_contacts.c.contact_id == app_tokens.c.contact_id,
        group_contacts.c.group_id.in_(list(group_ids)),
    )


def queue_batch(
    conn: Connection,
    b: Any,
    lower: int,
    upper: int | None,
    now: datetime,
) -> int:
    """INSERT INTO deliveries ... SELECT ... FROM app_tokens for lower < id <= upper (no upper:
    to the end), restricted to the broadcast's audience. No row passes through Python."""
    active = app_tokens.c.active.is_(True)
    conditions: list[Any] = [app_tokens.c.app_id == b.app_id, app_tokens.c.id > lower]
    if upper is not None:
        conditions.append(app_tokens.c.id <= upper)
    included = [int(g) for g in (b.groups or [])]
    excluded = [int(g) for g in (b.excluded_groups or [])]
    if included:
        conditions.append(_in_groups(included))
    if excluded:
        conditions.append(~_in_groups(excluded))
    source = select(
        literal(b.organization_id, BigInteger()),
        app_tokens.c.app_id,
        literal(b.id, BigInteger()),
        literal(b.message_id, BigInteger()),
        literal(st.KIND_BROADCAST, String()),
        literal(st.PRIORITY_BROADCAST, SmallInteger()),
        app_tokens.c.token,
        app_tokens.c.contact_id,
        case((active, literal(st.IN_QUEUE, String())), else_=literal(st.UNAVAILABLE, String())),
        case((active, null()), else_=literal(st.OTHER_ERRORS, String())),
        case((active, null()), else_=literal(st.TOKEN_INACTIVE, String())),
        literal(0, Integer()),
        literal(now, DateTime()),
        literal(now, DateTime()),
        case((active, null()), else_=literal(now, DateTime())),
        # The contact's languageCode picks the message's translation at send time.
        select(func.lower(func.replace(contact_profiles.c.language_code, "_", "-")))
        .where(contact_profiles.c.contact_id == app_tokens.c.contact_id)
        .scalar_subquery(),
    ).where(*conditions)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(deliveries).from_select(
        [
            deliveries.c.organization_id,
            deliveries.c.app_id,
            deliveries.c.broadcast_id,
            deliveries.c.message_id,
            deliveries.c.kind,
            deliveries.c.priority,
            deliveries.c.token,
            deliveries.c.contact_id,
            deliveries.c.status,
            deliveries.c.error_type,
            deliveries.c.error_name,
            deliveries.c.attempts,
            deliveries.c.available_at,
            deliveries.c.created_at,
            deliveries.c.finished_at,
            deliveries.c.language_code,
        ],
        source,
    )
    # A chat already queued for this broadcast (re-registered as a new token row while
    # the broadcast runs) is skipped: at most one delivery per (broadcast, chat id).
    stmt = stmt.on_conflict_do_nothing(index_elements=["broadcast_id", "token"])
    # preserve_rowcount: SQLAlchemy only keeps an INSERT's rowcount when asked.
    return int(conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount or 0)


def has_pending(conn: Connection, broadcast_id: int) -> bool:
    row = conn.execute(
        select(deliveries.c.id)
        .where(
            deliveries.c.broadcast_id == broadcast_id,
            deliveries.c.status.in_(st.PENDING_STATUSES),
        )
        .limit(1)
    ).first()
    return row is not None


def running_ids(conn: Connection, app_id: int) -> list[int]:
    rows = conn.execute(
        select(broadcasts.c.id)
        .where(broadcasts.c.app_id == app_id, broadcasts.c.status == st.B_RUNNING)
        .order_by(broadcasts.c.id)
    )
    return [int(r[0]) for r in rows]

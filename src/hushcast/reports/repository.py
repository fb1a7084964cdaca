"""All SQL of the reports: outcome counts, report contact lists (offset pages and keyset
pages for CSV exports) and the single report of transactional and test sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select, union_all

from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import contacts
from hushcast.delivery.models import deliveries
from hushcast.messages.models import messages

# (status, error_type, error_name) -> rows
OutcomeCounts = dict[tuple[str, str | None, str | None], int]

_CONTACT_COLUMNS = (
    deliveries.c.id,
    deliveries.c.contact_id,
    contacts.c.external_customer_id,
    deliveries.c.token,
    deliveries.c.status,
    deliveries.c.error_type,
    deliveries.c.error_name,
    deliveries.c.description,
    deliveries.c.created_at,
    deliveries.c.finished_at,
    deliveries.c.clicked_at,
)


def broadcast_of_org(conn: Connection, org_id: int, broadcast_id: int) -> Any:
    return conn.execute(
        select(
            broadcasts.c.id,
            broadcasts.c.status,
            broadcasts.c.started_at,
            broadcasts.c.finished_at,
        ).where(broadcasts.c.id == broadcast_id, broadcasts.c.organization_id == org_id)
    ).first()


def broadcast_exists(conn: Connection, org_id: int, broadcast_id: int) -> bool:
    return broadcast_of_org(conn, org_id, broadcast_id) is not None


# --- counters ----------------------------------------------------------------------------


def count_outcomes(conn: Connection, *where: ColumnElement[bool]) -> OutcomeCounts:
    """The shared counter of both reports: rows GROUP BY (status, error_type, error_name)."""
    rows = conn.execute(
        select(
            deliveries.c.status,
            deliveries.c.error_type,
            deliveries.c.error_name,
            func.count(),
        )
        .where(*where)
        .group_by(deliveries.c.status, deliveries.c.error_type, deliveries.c.error_name)
    )
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def broadcast_outcomes(conn: Connection, broadcast_id: int) -> OutcomeCounts:
    # Served by ix_deliveries_broadcast_status (broadcast_id, status, id).
    return count_outcomes(conn, deliveries.c.broadcast_id == broadcast_id)


def message_outcomes(
    conn: Connection, org_id: int, message_id: int, kinds: Sequence[str]
) -> OutcomeCounts:
    return count_outcomes(
        conn,
        deliveries.c.organization_id == org_id,
        deliveries.c.message_id == message_id,
        deliveries.c.kind.in_(list(kinds)),
    )


# --- report contacts ---------------------------------------------------------------------


def _contacts_select() -> Select[Any]:
    return select(*_CONTACT_COLUMNS).select_from(
        deliveries.outerjoin(contacts, contacts.c.id == deliveries.c.contact_id)
    )


def count_bucket(conn: Connection, broadcast_id: int, statuses: Sequence[str]) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(deliveries)
            .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.status.in_(statuses))
        ).scalar_one()
    )


def bucket_page(
    conn: Connection, broadcast_id: int, statuses: Sequence[str], offset: int, limit: int
) -> list[Any]:
    """One startindex/maxrows page of the bucket, ordered by deliveries.id."""
    return list(
        conn.execute(
            _contacts_select()
            .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.status.in_(statuses))
            .order_by(deliveries.c.id)
            .offset(offset)
            .limit(limit)
        )
    )


def bucket_after(
    conn: Connection, broadcast_id: int, statuses: Sequence[str], last_id: int, limit: int
) -> Sequence[Any]:
    """The next `limit` rows of the bucket with id > last_id (keyset page, for exports).

    One ordered range scan of ix_deliveries_broadcast_status per status, each LIMITed,
    merged by id: the cost of a page does not grow with the size of the broadcast (a plain
    ``status IN (...) ORDER BY id`` would have to sort every remaining row of the bucket).
    """
    arms = []
    for status in statuses:
        inner = (
            select(deliveries.c.id)
            .where(
                deliveries.c.broadcast_id == broadcast_id,
                deliveries.c.status == status,
                deliveries.c.id > last_id,
            )
            .order_by(deliveries.c.id)
            .limit(limit)
            .subquery()
        )
        arms.append(select(inner.c.id))
    ids = (arms[0] if len(arms) == 1 else union_all(*arms)).subquery("page_ids")
    return conn.execute(
        select(*_CONTACT_COLUMNS)
        .select_from(
            ids.join(deliveries, deliveries.c.id == ids.c.id).outerjoin(
                contacts, contacts.c.id == deliveries.c.contact_id
            )
        )
        # Repeated outside the union so that a merge join starts at last_id too.
        .where(deliveries.c.id > last_id)
        .order_by(deliveries.c.id)
        .limit(limit)
    ).all()


# --- single report -----------------------------------------------------------------------


def _single_where(org_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Transactional and test sends (no broadcast) of the organisation, start <= created < end."""
    return [
        deliveries.c.organization_id == org_id,
        deliveries.c.broadcast_id.is_(None),
        deliveries.c.created_at >= start,
        deliveries.c.created_at < end,
    ]


def count_single(conn: Connection, org_id: int, start: datetime, end: datetime) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(deliveries).where(*_single_where(org_id, start, end))
        ).scalar_one()
    )


def single_page(
    conn: Connection, org_id: int, start: datetime, end: datetime, offset: int, limit: int
) -> list[Any]:
    """Newest first (created_at, then id, both descending)."""
    return list(
        conn.execute(
            select(
                deliveries.c.request_id,
                deliveries.c.external_request_id,
                deliveries.c.token,
                deliveries.c.contact_id,
                deliveries.c.message_id,
                messages.c.name.label("message_name"),
                deliveries.c.kind,
                deliveries.c.created_at,
                deliveries.c.status,
                deliveries.c.error_name,
                deliveries.c.description,
            )
            .select_from(
                deliveries.outerjoin(
                    messages,
                    (messages.c.id == deliveries.c.message_id)
                    & (messages.c.organization_id == org_id),
                )
            )
            .where(*_single_where(org_id, start, end))
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def contact_activity(conn: Connection, org_id: int, contact_id: int, limit: int) -> list[Any]:
    """The contact's latest sends (broadcast, transactional, test), newest first."""
    return list(
        conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.kind,
                deliveries.c.broadcast_id,
                deliveries.c.message_id,
                messages.c.name.label("message_name"),
                deliveries.c.token,
                deliveries.c.status,
                deliveries.c.error_name,
                deliveries.c.created_at,
                deliveries.c.finished_at,
                deliveries.c.clicked_at,
            )
            .outerjoin(messages, messages.c.id == deliveries.c.message_id)
            .where(deliveries.c.organization_id == org_id, deliveries.c.contact_id == contact_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
    )

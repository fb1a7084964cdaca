"""All SQL of events and activity: stored events, contacts named by event params,
and delivery rows read as Yespo's message activity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens, contacts
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.yespo.models import contact_events


def insert_event(conn: Connection, values: dict[str, Any]) -> int:
    return int(
        conn.execute(
            insert(contact_events).values(**values).returning(contact_events.c.id)
        ).scalar_one()
    )


def contact_by(conn: Connection, org_id: int, column: str, value: Any) -> int | None:
    found = conn.execute(
        select(contacts.c.id)
        .where(contacts.c.organization_id == org_id, contacts.c[column] == value)
        .order_by(contacts.c.id)
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def contact_by_token(conn: Connection, org_id: int, token: str) -> int | None:
    found = conn.execute(
        select(app_tokens.c.contact_id)
        .join(apps, apps.c.id == app_tokens.c.app_id)
        .where(apps.c.organization_id == org_id, app_tokens.c.token == token)
        .order_by(app_tokens.c.id)
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def events_of_contact(conn: Connection, contact_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(contact_events)
            .where(contact_events.c.contact_id == contact_id)
            .order_by(contact_events.c.id.desc())
            .limit(limit)
        )
    )


def activity(
    conn: Connection,
    org_id: int,
    date_from: datetime,
    date_to: datetime,
    after_id: int,
    limit: int,
    contact_ids: Sequence[int] | None,
    statuses: Sequence[str] | None,
    skip: int = 0,
) -> list[Any]:
    """Finished delivery rows (with the contact's externalCustomerId), by id."""
    conds: list[Any] = [
        deliveries.c.organization_id == org_id,
        deliveries.c.id > after_id,
        # Implied by a final status; said outright so that PostgreSQL may use the
        # partial indexes ix_deliveries_org_finished / ix_deliveries_contact_finished.
        deliveries.c.finished_at.is_not(None),
        deliveries.c.status.in_(st.FINAL_STATUSES),
        deliveries.c.status != st.CANCELLED,
        or_(
            and_(deliveries.c.finished_at >= date_from, deliveries.c.finished_at < date_to),
            and_(deliveries.c.clicked_at >= date_from, deliveries.c.clicked_at < date_to),
        ),
    ]
    if contact_ids is not None:
        conds.append(deliveries.c.contact_id.in_(list(contact_ids)))
    if statuses is not None:
        conds.append(deliveries.c.status.in_(list(statuses)))
    return list(
        conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.contact_id,
                deliveries.c.message_id,
                deliveries.c.broadcast_id,
                deliveries.c.external_request_id,
                deliveries.c.status,
                deliveries.c.error_name,
                deliveries.c.description,
                deliveries.c.finished_at,
                deliveries.c.clicked_at,
                contacts.c.external_customer_id,
            )
            .outerjoin(contacts, contacts.c.id == deliveries.c.contact_id)
            .where(*conds)
            .order_by(deliveries.c.id)
            .offset(skip)
            .limit(limit)
        )
    )

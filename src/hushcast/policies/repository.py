"""All SQL of the policies module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from hushcast.contacts.models import contacts
from hushcast.policies.models import app_policies, contact_quiet_hours, org_policies


def _upsert(conn: Connection, table: Table, key: str, values: dict[str, Any]) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[key], set_={k: v for k, v in values.items() if k != key}
        )
    )


def org_policy(conn: Connection, org_id: int) -> Any:
    return conn.execute(
        select(org_policies).where(org_policies.c.organization_id == org_id)
    ).first()


def put_org_policy(conn: Connection, values: dict[str, Any]) -> None:
    _upsert(conn, org_policies, "organization_id", values)


def app_policy(conn: Connection, app_id: int) -> Any:
    return conn.execute(select(app_policies).where(app_policies.c.app_id == app_id)).first()


def put_app_policy(conn: Connection, values: dict[str, Any]) -> None:
    _upsert(conn, app_policies, "app_id", values)


def contact_of_org(conn: Connection, org_id: int, contact_id: int) -> Any:
    """The contact (id, time_zone) with its quiet hours, only within the organisation."""
    return conn.execute(
        select(
            contacts.c.id,
            contacts.c.time_zone,
            contact_quiet_hours.c.quiet_start,
            contact_quiet_hours.c.quiet_end,
        )
        .select_from(
            contacts.outerjoin(
                contact_quiet_hours, contact_quiet_hours.c.contact_id == contacts.c.id
            )
        )
        .where(contacts.c.id == contact_id, contacts.c.organization_id == org_id)
    ).first()


def put_contact_quiet_hours(
    conn: Connection, org_id: int, contact_id: int, start: str, end: str, now: datetime
) -> None:
    _upsert(
        conn,
        contact_quiet_hours,
        "contact_id",
        {
            "contact_id": contact_id,
            "organization_id": org_id,
            "quiet_start": start,
            "quiet_end": end,
            "updated_at": now,
        },
    )


def delete_contact_quiet_hours(conn: Connection, contact_id: int) -> None:
    conn.execute(delete(contact_quiet_hours).where(contact_quiet_hours.c.contact_id == contact_id))

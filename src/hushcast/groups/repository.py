"""All SQL for groups (static segments) and their members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hushcast.contacts.models import contacts
from hushcast.contacts.repository import existing_contact_ids  # noqa: F401  (re-exported)
from hushcast.core.db import IN_CHUNK as CHUNK
from hushcast.core.db import chunked as _chunks
from hushcast.groups.models import group_contacts, groups


def _member_count() -> Any:
    return (
        select(func.count())
        .select_from(group_contacts)
        .where(group_contacts.c.group_id == groups.c.id)
        .scalar_subquery()
    )


def insert_group(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(groups).values(**values).returning(groups.c.id)).scalar_one())


def get_group(conn: Connection, org_id: int, group_id: int) -> Any:
    """The group with its member count (``contacts``), or None."""
    return conn.execute(
        select(groups.c.id, groups.c.name, _member_count().label("contacts")).where(
            groups.c.organization_id == org_id, groups.c.id == group_id
        )
    ).first()


def count_groups(conn: Connection, org_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(groups).where(groups.c.organization_id == org_id)
        ).scalar_one()
    )


def list_groups(conn: Connection, org_id: int, offset: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(groups.c.id, groups.c.name, _member_count().label("contacts"))
            .where(groups.c.organization_id == org_id)
            .order_by(groups.c.id)
            .offset(offset)
            .limit(limit)
        )
    )


def delete_group(conn: Connection, org_id: int, group_id: int) -> bool:
    # Memberships go by ON DELETE CASCADE.
    res = conn.execute(
        delete(groups).where(groups.c.organization_id == org_id, groups.c.id == group_id)
    )
    return bool(res.rowcount)


def existing_group_ids(conn: Connection, org_id: int, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for part in _chunks(sorted(set(ids))):
        found.update(
            int(r[0])
            for r in conn.execute(
                select(groups.c.id).where(groups.c.organization_id == org_id, groups.c.id.in_(part))
            )
        )
    return found


def contacts_by_external_ids(
    conn: Connection, org_id: int, external_ids: Sequence[str]
) -> dict[str, list[int]]:
    """externalCustomerId -> every contact of the organisation holding it."""
    result: dict[str, list[int]] = {}
    for part in _chunks(sorted(set(external_ids))):
        rows = conn.execute(
            select(contacts.c.external_customer_id, contacts.c.id).where(
                contacts.c.organization_id == org_id,
                contacts.c.external_customer_id.in_(part),
            )
        )
        for ext, cid in rows:
            result.setdefault(ext, []).append(int(cid))
    return result


def member_ids(conn: Connection, group_id: int, contact_ids: Sequence[int]) -> set[int]:
    """Which of the contacts are already in the group."""
    found: set[int] = set()
    for part in _chunks(sorted(set(contact_ids))):
        found.update(
            int(r[0])
            for r in conn.execute(
                select(group_contacts.c.contact_id).where(
                    group_contacts.c.group_id == group_id,
                    group_contacts.c.contact_id.in_(part),
                )
            )
        )
    return found


def add_members(conn: Connection, group_id: int, contact_ids: Sequence[int]) -> None:
    """Multi-row INSERTs (two parameters a row); rows already there (a concurrent add)
    are skipped."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for part in _chunks(list(contact_ids), CHUNK // 2):
        conn.execute(
            dialect_insert(group_contacts)
            .values([{"group_id": group_id, "contact_id": cid} for cid in part])
            .on_conflict_do_nothing()
        )


def remove_members(conn: Connection, group_id: int, contact_ids: Sequence[int]) -> int:
    removed = 0
    for part in _chunks(sorted(set(contact_ids))):
        res = conn.execute(
            delete(group_contacts).where(
                group_contacts.c.group_id == group_id, group_contacts.c.contact_id.in_(part)
            )
        )
        removed += int(res.rowcount)
    return removed


def count_members(conn: Connection, group_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(group_contacts)
            .where(group_contacts.c.group_id == group_id)
        ).scalar_one()
    )


def list_members(conn: Connection, group_id: int, offset: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                contacts.c.id,
                contacts.c.external_customer_id,
                contacts.c.email,
                contacts.c.phone,
            )
            .join(group_contacts, group_contacts.c.contact_id == contacts.c.id)
            .where(group_contacts.c.group_id == group_id)
            .order_by(contacts.c.id)
            .offset(offset)
            .limit(limit)
        )
    )

"""All SQL of the Yespo contact calls: profiles, custom field ids, import sessions,
contact search and group look-ups by name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from hushcast.contacts.models import contacts
from hushcast.core.db import chunked
from hushcast.groups.models import group_contacts, groups
from hushcast.yespo.models import contact_field_defs, contact_profiles, import_sessions

# --- custom field definitions ---


def field_names_by_ids(conn: Connection, org_id: int, ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in chunked(sorted(set(ids))):
        rows = conn.execute(
            select(contact_field_defs.c.id, contact_field_defs.c.name).where(
                contact_field_defs.c.organization_id == org_id,
                contact_field_defs.c.id.in_(part),
            )
        )
        out.update((int(r.id), r.name) for r in rows)
    return out


def field_ids_by_names(conn: Connection, org_id: int, names: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in chunked(sorted(set(names))):
        rows = conn.execute(
            select(contact_field_defs.c.id, contact_field_defs.c.name).where(
                contact_field_defs.c.organization_id == org_id,
                contact_field_defs.c.name.in_(part),
            )
        )
        out.update((r.name, int(r.id)) for r in rows)
    return out


def insert_field_defs(conn: Connection, org_id: int, names: Sequence[str], now: datetime) -> None:
    if names:
        conn.execute(
            insert(contact_field_defs),
            [{"organization_id": org_id, "name": n, "created_at": now} for n in names],
        )


def all_field_defs(conn: Connection, org_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(contact_field_defs.c.id, contact_field_defs.c.name)
            .where(contact_field_defs.c.organization_id == org_id)
            .order_by(contact_field_defs.c.id)
        )
    )


# --- matching (dedupeOn) ---


def contact_ids_by(
    conn: Connection, org_id: int, column: str, values: Sequence[Any]
) -> dict[Any, int]:
    """value -> id of the contact holding it, for a contacts column or ``contact_key``."""
    if column == "contact_key":
        col, id_col, org_col = (
            contact_profiles.c.contact_key,
            contact_profiles.c.contact_id,
            contact_profiles.c.organization_id,
        )
    else:
        col, id_col, org_col = contacts.c[column], contacts.c.id, contacts.c.organization_id
    out: dict[Any, int] = {}
    for part in chunked(sorted(set(values))):
        for r in conn.execute(
            select(col.label("v"), id_col.label("id")).where(org_col == org_id, col.in_(part))
        ):
            out.setdefault(r.v, int(r.id))
    return out


# --- profiles ---


def profiles_of(conn: Connection, contact_ids: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in chunked(sorted(set(contact_ids))):
        for r in conn.execute(
            select(contact_profiles).where(contact_profiles.c.contact_id.in_(part))
        ):
            out[int(r.contact_id)] = r
    return out


def insert_profiles(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(contact_profiles), rows)


def update_profiles(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """rows: {"b_id", "b_key", "b_lang", "b_address"}."""
    if rows:
        conn.execute(
            update(contact_profiles)
            .where(contact_profiles.c.contact_id == bindparam("b_id"))
            .values(
                contact_key=bindparam("b_key"),
                language_code=bindparam("b_lang"),
                address=bindparam("b_address"),
            ),
            rows,
        )


# --- groups by name ---


def group_ids_by_names(conn: Connection, org_id: int, names: Sequence[str]) -> dict[str, int]:
    """name -> the oldest group of that name."""
    out: dict[str, int] = {}
    for part in chunked(sorted(set(names))):
        for r in conn.execute(
            select(groups.c.name, func.min(groups.c.id).label("id"))
            .where(groups.c.organization_id == org_id, groups.c.name.in_(part))
            .group_by(groups.c.name)
        ):
            out[r.name] = int(r.id)
    return out


def groups_of_contacts(conn: Connection, contact_ids: Sequence[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for part in chunked(sorted(set(contact_ids))):
        for r in conn.execute(
            select(group_contacts.c.contact_id, groups.c.id, groups.c.name)
            .join(groups, groups.c.id == group_contacts.c.group_id)
            .where(group_contacts.c.contact_id.in_(part))
            .order_by(groups.c.id)
        ):
            out.setdefault(int(r.contact_id), []).append(r)
    return out


# --- import sessions ---


def insert_import_session(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(import_sessions).values(**values))


def get_import_session(conn: Connection, org_id: int, session_id: str) -> Any:
    return conn.execute(
        select(import_sessions).where(
            import_sessions.c.organization_id == org_id, import_sessions.c.id == session_id
        )
    ).first()


# --- search ---


def _search_filter(org_id: int, filters: dict[str, str]) -> list[Any]:
    conds: list[Any] = [contacts.c.organization_id == org_id]
    for col, value in filters.items():
        if col == "contact_key":
            conds.append(
                contacts.c.id.in_(
                    select(contact_profiles.c.contact_id).where(
                        contact_profiles.c.organization_id == org_id,
                        contact_profiles.c.contact_key == value,
                    )
                )
            )
        else:
            conds.append(contacts.c[col] == value)
    return conds


def count_contacts(conn: Connection, org_id: int, filters: dict[str, str]) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(contacts).where(*_search_filter(org_id, filters))
        ).scalar_one()
    )


def search_contacts(
    conn: Connection, org_id: int, filters: dict[str, str], offset: int, limit: int
) -> list[Any]:
    return list(
        conn.execute(
            select(contacts)
            .where(*_search_filter(org_id, filters))
            .order_by(contacts.c.id)
            .offset(offset)
            .limit(limit)
        )
    )


def contacts_by_ids(conn: Connection, org_id: int, ids: Sequence[int]) -> list[Any]:
    out: list[Any] = []
    for part in chunked(sorted(set(ids))):
        out.extend(
            conn.execute(
                select(contacts).where(
                    contacts.c.organization_id == org_id, contacts.c.id.in_(part)
                )
            )
        )
    return sorted(out, key=lambda r: int(r.id))


def remove_all_members(conn: Connection, group_id: int) -> int:
    res = conn.execute(group_contacts.delete().where(group_contacts.c.group_id == group_id))
    return int(res.rowcount)

"""All SQL for contacts themselves (add/update, read, delete)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import chunked as _chunks
from hushcast.groups.models import group_contacts, groups
from hushcast.mute.models import mutes

# Bind names for executemany updates (they must differ from the column names).
UPDATE_BINDS = {
    "external_customer_id": "b_ext",
    "phone": "b_phone",
    "email": "b_email",
    "first_name": "b_first",
    "last_name": "b_last",
    "time_zone": "b_tz",
    "fields": "b_fields",
    "updated_at": "b_updated",
}


def load_candidates(
    conn: Connection,
    org_id: int,
    ids: Sequence[int],
    identifiers: Mapping[str, Sequence[str]],
) -> list[Any]:
    """Every contact of the organisation with one of the ids, or holding one of the
    identifier values (column name -> values), each once."""
    found: dict[int, Any] = {}
    wanted: list[tuple[Any, Sequence[Any]]] = [(contacts.c.id, sorted(set(ids)))]
    wanted += [(contacts.c[col], sorted(set(vals))) for col, vals in identifiers.items()]
    for col, values in wanted:
        for part in _chunks(values):
            rows = conn.execute(
                select(contacts).where(contacts.c.organization_id == org_id, col.in_(part))
            )
            for r in rows:
                found.setdefault(int(r.id), r)
    return [found[k] for k in sorted(found)]


def insert_contacts(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts in one executemany; ids come back in the order of ``rows``."""
    if not rows:
        return []
    res = conn.execute(
        insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), rows
    )
    return [int(r[0]) for r in res]


def update_contacts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """rows: {"b_id", and every bind of UPDATE_BINDS}; one executemany."""
    if not rows:
        return
    conn.execute(
        update(contacts)
        .where(contacts.c.id == bindparam("b_id"))
        .values({col: bindparam(name) for col, name in UPDATE_BINDS.items()}),
        rows,
    )


def get_contact(conn: Connection, org_id: int, contact_id: int) -> Any:
    return conn.execute(
        select(contacts).where(contacts.c.organization_id == org_id, contacts.c.id == contact_id)
    ).first()


def tokens_of_contact(conn: Connection, contact_id: int, now: datetime) -> list[Any]:
    """The contact's tokens with their bot's uuid and the mute in force at ``now``."""
    return list(
        conn.execute(
            select(
                apps.c.uuid,
                app_tokens.c.token,
                app_tokens.c.active,
                mutes.c.muted_until,
            )
            .join(apps, apps.c.id == app_tokens.c.app_id)
            .outerjoin(
                mutes,
                and_(
                    mutes.c.app_id == app_tokens.c.app_id,
                    mutes.c.token == app_tokens.c.token,
                    mutes.c.muted_until > now,
                ),
            )
            .where(app_tokens.c.contact_id == contact_id)
            .order_by(app_tokens.c.id)
        )
    )


def groups_of_contact(conn: Connection, contact_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(groups.c.id, groups.c.name)
            .join(group_contacts, group_contacts.c.group_id == groups.c.id)
            .where(group_contacts.c.contact_id == contact_id)
            .order_by(groups.c.id)
        )
    )


def delete_contact(conn: Connection, org_id: int, contact_id: int) -> bool:
    # Tokens and group memberships go by ON DELETE CASCADE (SQLite has foreign_keys=ON).
    res = conn.execute(
        delete(contacts).where(contacts.c.organization_id == org_id, contacts.c.id == contact_id)
    )
    return bool(res.rowcount)


def _contacts_where(org_id: int, search: str | None) -> list[Any]:
    where: list[Any] = [contacts.c.organization_id == org_id]
    if search:
        like = f"%{search}%"
        token_match = select(app_tokens.c.contact_id).where(app_tokens.c.token.like(like))
        where.append(
            or_(
                contacts.c.external_customer_id.like(like),
                contacts.c.phone.like(like),
                contacts.c.email.like(like),
                contacts.c.first_name.like(like),
                contacts.c.last_name.like(like),
                contacts.c.id.in_(token_match),
            )
        )
    return where


def count_contacts(conn: Connection, org_id: int, search: str | None) -> int:
    stmt = select(func.count()).select_from(contacts).where(*_contacts_where(org_id, search))
    return int(conn.execute(stmt).scalar_one())


def list_contacts(
    conn: Connection, org_id: int, search: str | None, offset: int, limit: int
) -> list[Any]:
    """A page of the organisation's contacts, newest first, with their token count."""
    tokens = (
        select(func.count())
        .select_from(app_tokens)
        .where(app_tokens.c.contact_id == contacts.c.id)
        .scalar_subquery()
    )
    stmt = (
        select(contacts, tokens.label("token_count"))
        .where(*_contacts_where(org_id, search))
        .order_by(contacts.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(conn.execute(stmt))

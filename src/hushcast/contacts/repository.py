"""All SQL for contacts and their Telegram tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import chunked as _chunks
from hushcast.core.timeutil import utcnow
from hushcast.mute.models import mutes


def existing_contact_ids(conn: Connection, org_id: int, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for part in _chunks(sorted(set(ids))):
        found.update(
            int(r[0])
            for r in conn.execute(
                select(contacts.c.id).where(
                    contacts.c.organization_id == org_id, contacts.c.id.in_(part)
                )
            )
        )
    return found


def contacts_by_identifier(
    conn: Connection, org_id: int, column: str, values: Sequence[str]
) -> dict[str, int]:
    """value -> the oldest contact holding it (the first match, as Yespo matches)."""
    col = contacts.c[column]
    result: dict[str, int] = {}
    for part in _chunks(sorted(set(values))):
        rows = conn.execute(
            select(col, func.min(contacts.c.id))
            .where(contacts.c.organization_id == org_id, col.in_(part))
            .group_by(col)
        )
        for value, cid in rows:
            result[value] = int(cid)
    return result


def insert_contacts(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    res = conn.execute(
        insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), rows
    )
    return [int(r[0]) for r in res]


def tokens_of_app(conn: Connection, app_id: int, tokens: Sequence[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in _chunks(sorted(set(tokens))):
        rows = conn.execute(
            select(
                app_tokens.c.id, app_tokens.c.token, app_tokens.c.contact_id, app_tokens.c.active
            ).where(app_tokens.c.app_id == app_id, app_tokens.c.token.in_(part))
        )
        for r in rows:
            result[r.token] = r
    return result


def insert_tokens(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(app_tokens), rows)


def reassign_tokens(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """rows: {"tid", "cid"}; moves each token to the contact and reactivates it."""
    if rows:
        conn.execute(
            update(app_tokens)
            .where(app_tokens.c.id == bindparam("tid"))
            .values(
                contact_id=bindparam("cid"),
                active=True,
                deactivated_at=None,
                deactivation_reason=None,
            ),
            rows,
        )


# Subscriber filters (the dashboard's): mute in force, receiving (active and not muted),
# blocked (the user blocked the bot or left: the token is inactive).
TOKEN_FILTERS = ("muted", "active", "blocked")


def _filtered(stmt: Any, search: str | None, status: str | None) -> Any:
    if search:
        stmt = stmt.where(_search_clause(search))
    if status == "muted":
        stmt = stmt.where(mutes.c.muted_until.is_not(None))
    elif status == "active":
        stmt = stmt.where(app_tokens.c.active.is_(True), mutes.c.muted_until.is_(None))
    elif status == "blocked":
        stmt = stmt.where(app_tokens.c.active.is_(False))
    return stmt


def count_tokens(
    conn: Connection,
    app_id: int,
    search: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> int:
    if not search and not status:
        stmt = select(func.count()).select_from(app_tokens).where(app_tokens.c.app_id == app_id)
        return int(conn.execute(stmt).scalar_one())
    rows = _filtered(_token_rows(app_id, now or utcnow()), search, status)
    return int(conn.execute(select(func.count()).select_from(rows.subquery())).scalar_one())


def _search_clause(search: str) -> Any:
    like = f"%{search}%"
    return or_(
        app_tokens.c.token.like(like),
        contacts.c.external_customer_id.like(like),
        contacts.c.phone.like(like),
        contacts.c.email.like(like),
    )


def _token_rows(app_id: int, now: datetime) -> Any:
    """A bot's tokens with their contact identifiers and current mute, if any."""
    return (
        select(
            app_tokens.c.token,
            app_tokens.c.contact_id,
            app_tokens.c.active,
            contacts.c.external_customer_id,
            contacts.c.phone,
            contacts.c.email,
            mutes.c.muted_until,
        )
        .join(contacts, contacts.c.id == app_tokens.c.contact_id)
        .outerjoin(
            mutes,
            and_(
                mutes.c.app_id == app_tokens.c.app_id,
                mutes.c.token == app_tokens.c.token,
                mutes.c.muted_until > now,
            ),
        )
        .where(app_tokens.c.app_id == app_id)
    )


def get_token(conn: Connection, app_id: int, token: str, now: datetime) -> Any:
    return conn.execute(_token_rows(app_id, now).where(app_tokens.c.token == token)).first()


def list_tokens(
    conn: Connection,
    app_id: int,
    now: datetime,
    offset: int,
    limit: int,
    search: str | None = None,
    status: str | None = None,
) -> list[Any]:
    stmt = _filtered(_token_rows(app_id, now), search, status)
    return list(conn.execute(stmt.order_by(app_tokens.c.id).offset(offset).limit(limit)))

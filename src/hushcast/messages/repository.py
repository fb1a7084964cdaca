"""All SQL for Telegram messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from hushcast.broadcasts.models import broadcasts
from hushcast.messages.models import messages


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_tag(conn: Connection, tag: str) -> ColumnElement[bool]:
    if conn.dialect.name == "postgresql":
        # jsonb ? 'tag' is true for an array holding that string, false for JSON null.
        return cast(messages.c.tags, JSONB).has_key(tag)
    elements = func.json_each(messages.c.tags).table_valued("value").alias("tag")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value == tag))


def _search_filter(conn: Connection, search: str) -> ColumnElement[bool]:
    pattern = f"%{_escape_like(search.lower())}%"
    return or_(
        func.lower(messages.c.name).like(pattern, escape="\\"),
        _has_tag(conn, search),
    )


def insert_message(conn: Connection, values: dict[str, Any]) -> int:
    return int(
        conn.execute(insert(messages).values(**values).returning(messages.c.id)).scalar_one()
    )


def get_message(conn: Connection, org_id: int, message_id: int) -> Any:
    return conn.execute(
        select(messages).where(messages.c.id == message_id, messages.c.organization_id == org_id)
    ).first()


def update_message(conn: Connection, org_id: int, message_id: int, values: dict[str, Any]) -> int:
    result = conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.organization_id == org_id)
        .values(**values)
    )
    return int(result.rowcount)


def delete_message(conn: Connection, org_id: int, message_id: int) -> int:
    result = conn.execute(
        delete(messages).where(messages.c.id == message_id, messages.c.organization_id == org_id)
    )
    return int(result.rowcount)


def used_by_broadcast(conn: Connection, message_id: int) -> bool:
    return bool(
        conn.execute(select(exists().where(broadcasts.c.message_id == message_id))).scalar()
    )


def list_messages(
    conn: Connection, org_id: int, search: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    conditions: list[ColumnElement[bool]] = [messages.c.organization_id == org_id]
    if search:
        conditions.append(_search_filter(conn, search))
    total = int(
        conn.execute(select(func.count()).select_from(messages).where(*conditions)).scalar_one()
    )
    rows = list(
        conn.execute(
            select(messages)
            .where(*conditions)
            .order_by(messages.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return rows, total


def translations_of(conn: Connection, message_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The messages' language versions by message id, by language code."""
    from hushcast.yespo.models import message_translations as mt

    out: dict[int, list[Any]] = {}
    if not message_ids:
        return out
    rows = conn.execute(
        select(mt)
        .where(mt.c.message_id.in_(list(message_ids)))
        .order_by(mt.c.message_id, mt.c.language_code)
    )
    for r in rows:
        out.setdefault(int(r.message_id), []).append(r)
    return out

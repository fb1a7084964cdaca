"""All SQL of message translations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from hushcast.messages.models import messages
from hushcast.yespo.models import message_translations


def message_of_org(conn: Connection, org_id: int, message_id: int) -> Any:
    return conn.execute(
        select(messages.c.id).where(
            messages.c.id == message_id, messages.c.organization_id == org_id
        )
    ).first()


def translations_of(conn: Connection, message_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(message_translations)
            .where(message_translations.c.message_id == message_id)
            .order_by(message_translations.c.language_code)
        )
    )


def get_translation(conn: Connection, message_id: int, language: str) -> Any:
    return conn.execute(
        select(message_translations).where(
            message_translations.c.message_id == message_id,
            message_translations.c.language_code == language,
        )
    ).first()


def delete_translation(conn: Connection, message_id: int, language: str) -> bool:
    res = conn.execute(
        delete(message_translations).where(
            message_translations.c.message_id == message_id,
            message_translations.c.language_code == language,
        )
    )
    return bool(res.rowcount)


def insert_translation(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(message_translations.insert().values(**values))


def touch_message(conn: Connection, message_id: int, now: datetime) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(updated_at=now))

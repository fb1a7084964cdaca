"""All SQL for bot apps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens
from hushcast.mute.models import mutes

APP_COLUMNS = [c for c in apps.c if c.name != "bot_token"]


def get_by_uuid(conn: Connection, org_id: int, app_uuid: str) -> Any:
    return conn.execute(
        select(apps).where(apps.c.uuid == app_uuid, apps.c.organization_id == org_id)
    ).first()


def get_by_id(conn: Connection, app_id: int) -> Any:
    return conn.execute(select(apps).where(apps.c.id == app_id)).first()


def get_by_bot(conn: Connection, org_id: int, bot_id: int) -> Any:
    return conn.execute(
        select(apps).where(apps.c.organization_id == org_id, apps.c.bot_id == bot_id)
    ).first()


def list_for_org(conn: Connection, org_id: int) -> list[Any]:
    return list(
        conn.execute(select(apps).where(apps.c.organization_id == org_id).order_by(apps.c.id))
    )


def insert_app(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(apps).values(**values).returning(apps.c.id)).scalar_one())


def update_app(conn: Connection, app_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(apps).where(apps.c.id == app_id).values(**values))


def delete_app(conn: Connection, app_id: int) -> None:
    # Child rows go by ON DELETE CASCADE on PostgreSQL and SQLite (foreign_keys=ON).
    conn.execute(delete(apps).where(apps.c.id == app_id))


def subscriber_counts(conn: Connection, app_ids: list[int]) -> dict[int, int]:
    if not app_ids:
        return {}
    rows = conn.execute(
        select(app_tokens.c.app_id, func.count())
        .where(app_tokens.c.app_id.in_(app_ids), app_tokens.c.active.is_(True))
        .group_by(app_tokens.c.app_id)
    )
    return {int(a): int(n) for a, n in rows}


def muted_counts(conn: Connection, app_ids: list[int], now: datetime) -> dict[int, int]:
    if not app_ids:
        return {}
    # Registered subscribers only (as ``subscriber_counts``): a mute set for a chat id that
    # never subscribed, or whose token was removed, is kept but not counted here.
    rows = conn.execute(
        select(mutes.c.app_id, func.count())
        .join(
            app_tokens,
            and_(app_tokens.c.app_id == mutes.c.app_id, app_tokens.c.token == mutes.c.token),
        )
        .where(
            mutes.c.app_id.in_(app_ids),
            mutes.c.muted_until > now,
            app_tokens.c.active.is_(True),
        )
        .group_by(mutes.c.app_id)
    )
    return {int(a): int(n) for a, n in rows}

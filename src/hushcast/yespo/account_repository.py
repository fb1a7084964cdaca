"""All SQL of the account and token look-up calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from hushcast.contacts.models import app_tokens
from hushcast.orgs.models import api_keys, organizations
from hushcast.webhooks.outbox import DEACTIVATED_VIA_API


def organization_name(conn: Connection, org_id: int) -> str:
    return str(
        conn.execute(select(organizations.c.name).where(organizations.c.id == org_id)).scalar_one()
    )


def key_name(conn: Connection, key_id: int) -> str | None:
    value = conn.execute(select(api_keys.c.name).where(api_keys.c.id == key_id)).scalar()
    return str(value) if value is not None else None


def get_token(conn: Connection, app_id: int, token: str) -> Any:
    return conn.execute(
        select(app_tokens.c.id, app_tokens.c.contact_id, app_tokens.c.active).where(
            app_tokens.c.app_id == app_id, app_tokens.c.token == token
        )
    ).first()


def set_token_active(conn: Connection, token_id: int, active: bool, now: datetime) -> None:
    conn.execute(
        update(app_tokens)
        .where(app_tokens.c.id == token_id)
        .values(
            active=active,
            deactivated_at=None if active else now,
            deactivation_reason=None if active else DEACTIVATED_VIA_API,
        )
    )

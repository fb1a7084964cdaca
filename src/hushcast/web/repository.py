"""SQL the dashboard needs that no other module offers: session keys and one token row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.mute.models import mutes
from hushcast.orgs.models import api_keys, organizations


def api_key_by_id(conn: Connection, key_id: int) -> Any:
    return conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.organization_id,
            api_keys.c.key_digest,
            api_keys.c.key_prefix,
            api_keys.c.revoked_at,
            organizations.c.name.label("org_name"),
        )
        .join(organizations, organizations.c.id == api_keys.c.organization_id)
        .where(api_keys.c.id == key_id)
    ).first()


def token_row(conn: Connection, app_id: int, token: str, now: datetime) -> Any:
    """One subscriber row as the subscribers page shows it (same columns as list_tokens)."""
    return conn.execute(
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
        .where(app_tokens.c.app_id == app_id, app_tokens.c.token == token)
    ).first()

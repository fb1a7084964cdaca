"""SQL the dashboard needs that no other module offers: session keys and one token row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hushcast.contacts import repository as contacts_repository
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
    return contacts_repository.get_token(conn, app_id, token, now)

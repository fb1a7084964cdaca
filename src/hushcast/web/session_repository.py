"""All SQL for dashboard sessions (web_sessions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from hushcast.orgs.models import api_keys, organizations
from hushcast.web.models import web_sessions


def insert_session(
    conn: Connection, digest: str, org_id: int, api_key_id: int, now: datetime
) -> None:
    conn.execute(
        insert(web_sessions).values(
            id_digest=digest,
            organization_id=org_id,
            api_key_id=api_key_id,
            created_at=now,
            last_seen_at=now,
        )
    )


def live_session(conn: Connection, digest: str, idle_since: datetime, born_since: datetime) -> Any:
    """The unrevoked session with this digest, seen after idle_since and created after
    born_since, whose key is unrevoked, with its organisation's name and its key prefix."""
    return conn.execute(
        select(
            web_sessions.c.id_digest,
            web_sessions.c.organization_id,
            web_sessions.c.api_key_id,
            web_sessions.c.last_seen_at,
            api_keys.c.key_prefix,
            organizations.c.name.label("org_name"),
        )
        .join(api_keys, api_keys.c.id == web_sessions.c.api_key_id)
        .join(organizations, organizations.c.id == web_sessions.c.organization_id)
        .where(
            web_sessions.c.id_digest == digest,
            web_sessions.c.revoked_at.is_(None),
            web_sessions.c.last_seen_at > idle_since,
            web_sessions.c.created_at > born_since,
            api_keys.c.revoked_at.is_(None),
            api_keys.c.organization_id == web_sessions.c.organization_id,
        )
    ).first()


def touch_session(conn: Connection, digest: str, now: datetime) -> None:
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.id_digest == digest, web_sessions.c.revoked_at.is_(None))
        .values(last_seen_at=now)
    )


def revoke_session(conn: Connection, digest: str, now: datetime) -> bool:
    res = conn.execute(
        update(web_sessions)
        .where(web_sessions.c.id_digest == digest, web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return res.rowcount > 0


def revoke_org_sessions(conn: Connection, org_id: int, now: datetime) -> int:
    res = conn.execute(
        update(web_sessions)
        .where(web_sessions.c.organization_id == org_id, web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(res.rowcount)


def purge_sessions(conn: Connection, seen_before: datetime) -> None:
    """Deletes sessions (revoked or not) last seen before the cutoff: they can never
    be valid again."""
    conn.execute(delete(web_sessions).where(web_sessions.c.last_seen_at < seen_before))

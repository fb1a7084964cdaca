"""All SQL for organisations and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hushcast.orgs.models import api_keys, organizations, settings_kv


def get_org_by_name(conn: Connection, name: str) -> Any:
    return conn.execute(select(organizations).where(organizations.c.name == name)).first()


def create_org(conn: Connection, name: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(organizations).values(name=name, created_at=now).returning(organizations.c.id)
        ).scalar_one()
    )


def count_orgs(conn: Connection) -> int:
    return len(conn.execute(select(organizations.c.id).limit(1)).all())


def insert_key(
    conn: Connection,
    org_id: int,
    name: str | None,
    prefix: str,
    digest: str,
    now: datetime,
    is_admin: bool = True,
) -> int:
    return int(
        conn.execute(
            insert(api_keys)
            .values(
                organization_id=org_id,
                name=name,
                key_prefix=prefix,
                key_digest=digest,
                created_at=now,
                is_admin=is_admin,
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    )


# Built once: every authenticated request runs it.
_KEY_BY_DIGEST = select(
    api_keys.c.id,
    api_keys.c.organization_id,
    api_keys.c.key_digest,
    api_keys.c.revoked_at,
).where(api_keys.c.key_digest == bindparam("digest"))


def find_key_by_digest(conn: Connection, digest: str) -> Any:
    return conn.execute(_KEY_BY_DIGEST, {"digest": digest}).first()


def list_keys(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.name,
                api_keys.c.key_prefix,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
                organizations.c.name.label("org_name"),
            )
            .join(organizations, organizations.c.id == api_keys.c.organization_id)
            .order_by(api_keys.c.id)
        ).all()
    )


def revoke_key(conn: Connection, key_id: int, now: datetime) -> bool:
    res = conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return res.rowcount > 0


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(select(settings_kv.c.value).where(settings_kv.c.key == key)).scalar()


def put_setting_if_absent(conn: Connection, key: str, value: str) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent writer of the same key wins quietly
    (PostgreSQL waits for its commit, then skips; SQLite writers are serialised)."""
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = pg_insert(settings_kv).values(key=key, value=value)
    elif dialect == "sqlite":
        stmt = sqlite_insert(settings_kv).values(key=key, value=value)
    else:  # pragma: no cover - the two supported databases are above
        raise NotImplementedError(dialect)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[settings_kv.c.key]))


def org_keys(conn: Connection, org_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.name,
                api_keys.c.key_prefix,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
                api_keys.c.is_admin,
            )
            .where(api_keys.c.organization_id == org_id)
            .order_by(api_keys.c.id)
        ).all()
    )


def key_of_org(conn: Connection, org_id: int, key_id: int) -> Any:
    return conn.execute(
        select(api_keys.c.id, api_keys.c.revoked_at, api_keys.c.is_admin).where(
            api_keys.c.id == key_id, api_keys.c.organization_id == org_id
        )
    ).first()

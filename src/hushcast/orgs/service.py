"""Organisations and API keys. Never commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hushcast.core.crypto import same
from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.orgs import repository as repo

KEY_PREFIX = "hc_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organisation and the key used."""

    organization_id: int
    api_key_id: int


def digest_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast digest is the right hash: a slow
    # password hash would add nothing and would cap the API's throughput.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def ensure_org(conn: Connection, name: str) -> int:
    row = repo.get_org_by_name(conn, name)
    if row is not None:
        return int(row.id)
    return repo.create_org(conn, name, utcnow())


def create_key(conn: Connection, org_name: str, key_name: str | None = None) -> tuple[int, str]:
    """Creates the organisation if needed and a new key; returns (key id, key)."""
    org_id = ensure_org(conn, org_name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = repo.insert_key(conn, org_id, key_name, key[:10], digest_key(key), utcnow())
    return key_id, key


def create_org_key(
    conn: Connection, org_id: int, key_name: str | None, is_admin: bool
) -> tuple[int, str]:
    """A new key of an existing organisation; returns (key id, key). The key itself is
    not stored: show it once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = repo.insert_key(
        conn, org_id, key_name, key[:10], digest_key(key), utcnow(), is_admin=is_admin
    )
    return key_id, key


def is_admin_key(conn: Connection, org_id: int, key_id: int) -> bool:
    row = repo.key_of_org(conn, org_id, key_id)
    return bool(row is not None and row.revoked_at is None and row.is_admin)


def list_org_keys(conn: Connection, org_id: int) -> list[Any]:
    return repo.org_keys(conn, org_id)


def revoke_org_key(conn: Connection, org_id: int, key_id: int, current_key_id: int) -> None:
    """Revokes one of the organisation's keys; another organisation's key is not found."""
    if key_id == current_key_id:
        raise BadRequest(
            "This is the key you are signed in with: sign in with another key to revoke it"
        )
    row = repo.key_of_org(conn, org_id, key_id) if 0 < key_id <= 2**63 - 1 else None
    if row is None:
        raise NotFound("API key not found")
    repo.revoke_key(conn, key_id, utcnow())


def authenticate(conn: Connection, key: str) -> Principal | None:
    if not key or len(key) > 200:
        return None
    digest = digest_key(key)
    row = repo.find_key_by_digest(conn, digest)
    # Constant-time comparison of the digests, so timing reveals nothing.
    if row is None or not same(row.key_digest, digest):
        return None
    if row.revoked_at is not None:
        return None
    return Principal(organization_id=int(row.organization_id), api_key_id=int(row.id))


def bootstrap_default_org(conn: Connection) -> str | None:
    """On the very first start, creates organisation "default" and returns its key."""
    if repo.count_orgs(conn) > 0:
        return None
    _, key = create_key(conn, "default", "initial key")
    return key


SECRET_SETTING = "secret_key"


def get_or_create_secret(conn: Connection) -> str:
    """The instance's signing secret from the database, created on first use.

    Idempotent under concurrency: processes starting together on an empty database each
    insert with ON CONFLICT DO NOTHING and then read the one row that won.
    """
    value = repo.get_setting(conn, SECRET_SETTING)
    if value is None:
        repo.put_setting_if_absent(conn, SECRET_SETTING, secrets.token_urlsafe(32))
        value = repo.get_setting(conn, SECRET_SETTING)
        assert value is not None
    return value

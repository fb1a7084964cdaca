from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table, true

from hushcast.core.db import BigId, metadata

organizations = Table(
    "organizations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=True),
    # First characters of the key, shown in listings so a person can tell keys apart.
    Column("key_prefix", String(16), nullable=False),
    # SHA-256 of the key: keys are 256-bit random, so a fast digest is enough.
    Column("key_digest", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    # Admins may create and revoke the organisation's keys in the dashboard.
    Column("is_admin", Boolean, nullable=False, default=True, server_default=true()),
)

settings_kv = Table(
    "settings_kv",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", String(500), nullable=False),
)

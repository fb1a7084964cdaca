from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from hushcast.core.db import BigId, metadata

contacts = Table(
    "contacts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("external_customer_id", String(200), nullable=True),
    Column("phone", String(50), nullable=True),
    Column("email", String(320), nullable=True),
    Column("first_name", String(200), nullable=True),
    Column("last_name", String(200), nullable=True),
    Column("time_zone", String(64), nullable=True),
    Column("fields", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Each identifier names at most one contact per organisation (NULLs do not collide),
    # so concurrent upserts cannot split a person (migration 0002i merged older duplicates).
    Index("uq_contacts_org_ext", "organization_id", "external_customer_id", unique=True),
    Index("uq_contacts_org_phone", "organization_id", "phone", unique=True),
    Index("uq_contacts_org_email", "organization_id", "email", unique=True),
)

# A contact's Telegram chat id with one bot ("token" in the Yespo API).
app_tokens = Table(
    "app_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column(
        "contact_id",
        BigId,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token", String(64), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("deactivated_at", DateTime, nullable=True),
    Column("deactivation_reason", String(200), nullable=True),
    UniqueConstraint("app_id", "token", name="uq_app_tokens_app_token"),
    # Planning walks a bot's tokens in id order, in batches.
    Index("ix_app_tokens_app_id_id", "app_id", "id"),
)

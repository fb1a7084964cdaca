"""Yespo compatibility: side tables for what Yespo's API carries

contact_profiles (contactKey, languageCode, address), contact_field_defs (custom
fields by numeric id), import_sessions (asyncSessionId of POST /v1/contacts),
broadcast_throttles (batchSize / batchIntervalUnit), message_translations
(languageCode versions of a Telegram message) and contact_events (POST /v1/event).
New tables only: no core table changes. Self-contained (the lead re-chains revisions).

Revision ID: 0003y
Revises: 0003w
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003y"
down_revision = "0003w"
branch_labels = None
depends_on = None


def _big() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contact_profiles",
        sa.Column(
            "contact_id",
            _big(),
            sa.ForeignKey(
                "contacts.id",
                ondelete="CASCADE",
                name="fk_contact_profiles_contact_id_contacts",
            ),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "organization_id",
            _big(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_contact_profiles_organization_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column("contact_key", sa.String(200), nullable=True),
        sa.Column("language_code", sa.String(16), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contact_profiles"),
    )
    op.create_index(
        "uq_contact_profiles_org_key",
        "contact_profiles",
        ["organization_id", "contact_key"],
        unique=True,
    )
    op.create_table(
        "contact_field_defs",
        sa.Column("id", _big(), primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id",
            _big(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_contact_field_defs_organization_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_field_defs"),
        sqlite_autoincrement=True,  # ids are never reused (see hushcast.models)
    )
    op.create_index(
        "uq_contact_field_defs_org_name",
        "contact_field_defs",
        ["organization_id", "name"],
        unique=True,
    )
    op.create_table(
        "import_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "organization_id",
            _big(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_import_sessions_organization_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("contact_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_sessions"),
    )
    op.create_table(
        "broadcast_throttles",
        sa.Column(
            "broadcast_id",
            _big(),
            sa.ForeignKey(
                "broadcasts.id",
                ondelete="CASCADE",
                name="fk_broadcast_throttles_broadcast_id_broadcasts",
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batch_interval_unit", sa.String(8), nullable=False),
        sa.Column("planned_through_id", _big(), nullable=True),
        sa.Column("planned_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", name="pk_broadcast_throttles"),
    )
    op.create_table(
        "message_translations",
        sa.Column(
            "message_id",
            _big(),
            sa.ForeignKey(
                "messages.id",
                ondelete="CASCADE",
                name="fk_message_translations_message_id_messages",
            ),
            nullable=False,
        ),
        sa.Column("language_code", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("image_source", sa.Text(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "language_code", name="pk_message_translations"),
    )
    op.create_table(
        "contact_events",
        sa.Column("id", _big(), primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id",
            _big(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_contact_events_organization_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column(
            "contact_id",
            _big(),
            sa.ForeignKey(
                "contacts.id",
                ondelete="SET NULL",
                name="fk_contact_events_contact_id_contacts",
            ),
            nullable=True,
        ),
        sa.Column("event_type_key", sa.String(200), nullable=False),
        sa.Column("key_value", sa.String(500), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_events"),
        sqlite_autoincrement=True,  # ids are never reused (see hushcast.models)
    )
    op.create_index("ix_contact_events_org_id", "contact_events", ["organization_id", "id"])
    op.create_index("ix_contact_events_contact_id", "contact_events", ["contact_id"])


def downgrade() -> None:
    op.drop_table("contact_events")
    op.drop_table("message_translations")
    op.drop_table("broadcast_throttles")
    op.drop_table("import_sessions")
    op.drop_table("contact_field_defs")
    op.drop_table("contact_profiles")

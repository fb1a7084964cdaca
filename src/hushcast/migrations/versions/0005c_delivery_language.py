"""Yespo compatibility: each delivery carries the recipient's languageCode (the message's
translation in that language is sent), and two partial indexes for the activity
reports (GET /v2/contacts/activity and /v2/contacts/messages read finished rows only).

Revision ID: 0005c
Revises: 0005u
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005c"
down_revision = "0005u"
branch_labels = None
depends_on = None

_FINISHED = "finished_at IS NOT NULL"


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default): SQLite supports it, and a batch copy of
    # deliveries would drop its AUTOINCREMENT and rewrite the largest table.
    op.add_column("deliveries", sa.Column("language_code", sa.String(16), nullable=True))
    # Partial: rows still queued are never read by the reports, and a broadcast's
    # planning INSERT of a million IN_QUEUE rows does not pay for these indexes.
    op.create_index(
        "ix_deliveries_org_finished",
        "deliveries",
        ["organization_id", "id"],
        postgresql_where=sa.text(_FINISHED),
        sqlite_where=sa.text(_FINISHED),
    )
    op.create_index(
        "ix_deliveries_contact_finished",
        "deliveries",
        ["contact_id", "id"],
        postgresql_where=sa.text(_FINISHED),
        sqlite_where=sa.text(_FINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_contact_finished", table_name="deliveries")
    op.drop_index("ix_deliveries_org_finished", table_name="deliveries")
    with op.batch_alter_table(
        "deliveries", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("language_code")

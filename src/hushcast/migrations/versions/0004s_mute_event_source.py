"""Mute history: who made a change when it was not an API key (dashboard, dialog guard)

Revision ID: 0004s
Revises: 0004d
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004s"
down_revision = "0004d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of the table would drop its AUTOINCREMENT on SQLite.
    op.add_column("mute_events", sa.Column("source", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(
        "mute_events", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("source")

"""Dashboard: API keys get an admin flag (admins create and revoke keys in /ui/keys)

Existing keys become admins, so nobody loses what they could do before.

Revision ID: 0004d
Revises: 0003y
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004d"
down_revision = "0003y"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite supports it with a constant default): a batch copy of the
    # table would drop its AUTOINCREMENT on SQLite.
    op.add_column(
        "api_keys", sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    with op.batch_alter_table(
        "api_keys", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("is_admin")

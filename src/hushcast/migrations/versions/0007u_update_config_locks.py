"""update_config_locks: one change of a bot's update settings at a time (a PUT tells
Telegram, then stores; two at once could leave Telegram and the database with different
webhook secrets).

Revision ID: 0007u
Revises: 0006w
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007u"
down_revision = "0006w"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "update_config_locks",
        sa.Column("app_id", big, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_update_config_locks_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_update_config_locks")),
    )


def downgrade() -> None:
    op.drop_table("update_config_locks")

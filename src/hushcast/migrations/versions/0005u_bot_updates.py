"""updates: per-bot update settings (webhook / polling, relay, dialog guard, welcome
message), the stored updates and used single-use start links (issue 15)

Revision ID: 0005u
Revises: 0004s (chained after merging main; it was 0004d)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005u"
down_revision = "0004s"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "update_settings",
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("relay_url", sa.String(length=2000), nullable=True),
        sa.Column("relay_secret", sa.String(length=256), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("dialog_guard", sa.Boolean(), nullable=False),
        sa.Column("dialog_guard_seconds", sa.Integer(), nullable=False),
        sa.Column("register_groups", sa.Boolean(), nullable=False),
        sa.Column("welcome_message_id", sa.BigInteger(), nullable=True),
        sa.Column("poll_offset", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("relay_delivered", sa.Integer(), nullable=False),
        sa.Column("relay_failures", sa.Integer(), nullable=False),
        sa.Column("relay_last_error", sa.String(length=500), nullable=True),
        sa.Column("relay_last_error_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_update_settings_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_update_settings")),
    )
    op.create_table(
        "bot_updates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("relay_state", sa.String(length=8), nullable=False),
        sa.Column("relay_attempts", sa.Integer(), nullable=False),
        sa.Column("relay_next_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_bot_updates_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_updates")),
        sa.UniqueConstraint("app_id", "update_id", name="uq_bot_updates_app_update"),
        sqlite_autoincrement=True,  # ids are never reused (see hushcast.models)
    )
    with op.batch_alter_table("bot_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bot_updates_app_processed", ["app_id", "processed_at"], unique=False
        )

    op.create_table(
        "used_start_links",
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("payload", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_used_start_links_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "payload", name=op.f("pk_used_start_links")),
    )


def downgrade() -> None:
    op.drop_table("used_start_links")
    op.drop_table("bot_updates")
    op.drop_table("update_settings")

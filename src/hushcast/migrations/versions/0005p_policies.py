"""Eligibility policies: mute hold, quiet hours, local-time sends, frequency caps

New tables org_policies, app_policies, contact_quiet_hours; broadcast policy columns;
partial indexes on deliveries for parked rows (WAITING, HELD) and for frequency caps.
Plain ADD COLUMN on broadcasts (a batch copy would drop its SQLite AUTOINCREMENT).

Revision ID: 0005p
Revises: 0005c (was 0004d before main was merged into this branch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005p"
down_revision = "0005c"
branch_labels = None
depends_on = None


def _big() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _policy_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("cap_count", sa.Integer(), nullable=True),
        sa.Column("cap_period_s", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "org_policies",
        sa.Column(
            "organization_id",
            _big(),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_org_policies_organization_id_organizations",
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("time_zone", sa.String(64), nullable=True),
        *_policy_columns(),
        sa.PrimaryKeyConstraint("organization_id", name="pk_org_policies"),
    )
    op.create_table(
        "app_policies",
        sa.Column(
            "app_id",
            _big(),
            sa.ForeignKey("apps.id", ondelete="CASCADE", name="fk_app_policies_app_id_apps"),
            autoincrement=False,
            nullable=False,
        ),
        *_policy_columns(),
        sa.PrimaryKeyConstraint("app_id", name="pk_app_policies"),
    )
    op.create_table(
        "contact_quiet_hours",
        sa.Column(
            "contact_id",
            _big(),
            sa.ForeignKey(
                "contacts.id",
                ondelete="CASCADE",
                name="fk_contact_quiet_hours_contact_id_contacts",
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("quiet_start", sa.String(5), nullable=False),
        sa.Column("quiet_end", sa.String(5), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contact_quiet_hours"),
    )
    op.add_column("broadcasts", sa.Column("mute_policy", sa.String(8), nullable=True))
    op.add_column("broadcasts", sa.Column("hold_until", sa.DateTime(), nullable=True))
    op.add_column("broadcasts", sa.Column("quiet_hours_policy", sa.String(8), nullable=True))
    op.add_column("broadcasts", sa.Column("local_time", sa.String(5), nullable=True))
    op.add_column("broadcasts", sa.Column("local_date", sa.String(10), nullable=True))
    op.add_column("deliveries", sa.Column("quiet_hours_policy", sa.String(8), nullable=True))
    parked = sa.text("status IN ('WAITING', 'HELD')")
    op.create_index(
        "ix_deliveries_parked",
        "deliveries",
        ["app_id", "available_at"],
        postgresql_where=parked,
        sqlite_where=parked,
    )
    held = sa.text("status = 'HELD'")
    op.create_index(
        "ix_deliveries_held_token",
        "deliveries",
        ["app_id", "token"],
        postgresql_where=held,
        sqlite_where=held,
    )
    sent = sa.text("broadcast_id IS NOT NULL AND status IN ('DELIVERED', 'CLICKED')")
    op.create_index(
        "ix_deliveries_sent_chat",
        "deliveries",
        ["app_id", "token", "finished_at"],
        postgresql_where=sent,
        sqlite_where=sent,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_sent_chat", table_name="deliveries")
    op.drop_index("ix_deliveries_held_token", table_name="deliveries")
    op.drop_index("ix_deliveries_parked", table_name="deliveries")
    with op.batch_alter_table(
        "deliveries", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("quiet_hours_policy")
    with op.batch_alter_table(
        "broadcasts", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        for name in ("local_date", "local_time", "quiet_hours_policy", "hold_until", "mute_policy"):
            batch_op.drop_column(name)
    op.drop_table("contact_quiet_hours")
    op.drop_table("app_policies")
    op.drop_table("org_policies")

"""contact_quiet_hours.organization_id: the pre-send check asks "has any contact of this
organisation its own quiet hours?" for every group of rows it checks. Through contacts
that question scanned every contact of the organisation (SQLite's plan walks the
organisation's contacts and probes quiet hours for each: 4.6 ms at 40,000 contacts,
growing with the organisation); with the organisation on the row it is one index probe.

Revision ID: 0006q
Revises: 0005p
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006q"
down_revision = "0005p"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column("contact_quiet_hours", sa.Column("organization_id", big, nullable=True))
    op.execute(
        "UPDATE contact_quiet_hours SET organization_id ="
        " (SELECT organization_id FROM contacts WHERE contacts.id = contact_quiet_hours.contact_id)"
    )
    # The table has no AUTOINCREMENT (its key is the contact's id), so SQLite's batch copy
    # loses nothing.
    with op.batch_alter_table("contact_quiet_hours") as batch_op:
        batch_op.alter_column("organization_id", existing_type=big, nullable=False)
        batch_op.create_foreign_key(
            "fk_contact_quiet_hours_organization_id_organizations",
            "organizations",
            ["organization_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_contact_quiet_hours_organization_id", "contact_quiet_hours", ["organization_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_contact_quiet_hours_organization_id", table_name="contact_quiet_hours")
    with op.batch_alter_table("contact_quiet_hours") as batch_op:
        batch_op.drop_constraint(
            "fk_contact_quiet_hours_organization_id_organizations", type_="foreignkey"
        )
        batch_op.drop_column("organization_id")

"""webhook_outbox.delivery_id, payload nullable: a delivery event is recorded as a
reference to its delivery row (the row holds every field of a final outcome, which never
changes again) and its body is built by the dispatcher when it is sent. Building and
encoding one event per recipient inside the worker's outcome write cost the sending
rate (docs/webhooks.md, BENCHMARKS.md).

Revision ID: 0006w
Revises: 0006q
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006w"
down_revision = "0006q"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column("webhook_outbox", sa.Column("delivery_id", big, nullable=True))
    # SQLite copies the table to change a column's nullability: keep its AUTOINCREMENT.
    with op.batch_alter_table(
        "webhook_outbox", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM webhook_outbox WHERE payload IS NULL")
    with op.batch_alter_table(
        "webhook_outbox", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("delivery_id")

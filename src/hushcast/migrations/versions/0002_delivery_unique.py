"""at most one delivery per (broadcast, chat id)

Removes the duplicates earlier versions could plan (a chat re-registered while its
broadcast was planning): of each (broadcast_id, token) group the row kept is the one
that reached the chat (DELIVERED or CLICKED) if any, else the oldest. Transactional
rows (broadcast_id NULL) are not concerned: NULLs never collide in a unique index.

Revision ID: 0002d
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002d"
down_revision = "0001"
branch_labels = None
depends_on = None

_DELETE_DUPLICATES = sa.text(
    "DELETE FROM deliveries WHERE id IN ("
    " SELECT id FROM ("
    "  SELECT id, ROW_NUMBER() OVER ("
    "   PARTITION BY broadcast_id, token"
    "   ORDER BY CASE WHEN status IN ('DELIVERED', 'CLICKED') THEN 0 ELSE 1 END, id"
    "  ) AS n FROM deliveries WHERE broadcast_id IS NOT NULL"
    " ) AS ranked WHERE n > 1"
    ")"
)


def upgrade() -> None:
    op.execute(_DELETE_DUPLICATES)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "uq_deliveries_broadcast_token", ["broadcast_id", "token"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_deliveries_broadcast_token")

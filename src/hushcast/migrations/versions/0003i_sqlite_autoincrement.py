"""ids never reused: AUTOINCREMENT for every surrogate-id table on SQLite

On SQLite an INTEGER PRIMARY KEY without AUTOINCREMENT takes max(rowid) + 1, so the
ids of the newest rows come back after they are deleted: a deleted organisation's
click link (signed with a delivery id) then named another organisation's delivery.
With AUTOINCREMENT SQLite keeps the highest id ever used in sqlite_sequence. Each table
is rebuilt (Alembic batch mode: create, copy with the same ids, drop, rename), which
needs foreign keys off so that dropping the old table cascades nothing
(hushcast.core.migrate.upgrade runs migrations so; the Alembic CLI connects without them).

PostgreSQL: nothing to do, identity sequences never hand out a value twice.

Revision ID: 0003i
Revises: 0002i
"""

from __future__ import annotations

from alembic import op

revision = "0003i"
down_revision = "0002i"
branch_labels = None
depends_on = None

# Every table keyed by one generated integer id (hushcast.models.surrogate_id_tables),
# parents before children.
TABLES = (
    "organizations",
    "api_keys",
    "apps",
    "contacts",
    "groups",
    "messages",
    "app_tokens",
    "broadcasts",
    "mute_events",
    "deliveries",
)


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "0003i rebuilds tables and must run with SQLite foreign keys off "
            "(dropping a parent table would cascade to its children): use `hushcast migrate`"
        )
    for name in TABLES:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        raise RuntimeError(f"foreign key check failed after the rebuild: {problems[:5]}")


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)

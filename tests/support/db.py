"""Test databases: the PostgreSQL server, the shared Database per backend, wiping."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text

from hushcast.core.db import Database, create_database
from hushcast.models import metadata

PG_ADMIN_URL = os.environ.get("HUSHCAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=3
    )


# One Database (and one app, below) per backend for the whole run: building them per
# test cost more than most tests. Each test starts from empty tables instead.
_databases: dict[str, Database] = {}

# Tables with more rows than this (as PostgreSQL's statistics last counted them, live or
# dead) are truncated by wipe() instead of deleted from.
_TRUNCATE_ABOVE_ROWS = 5_000


def shared_database(url: str) -> Database:
    if url not in _databases:
        _databases[url] = create_database(url, pool_size=10)
    return _databases[url]


def wipe(db: Database) -> None:
    tables = [t for t in metadata.sorted_tables if t.name != "settings_kv"]
    with db.transaction() as conn:
        if db.is_sqlite:
            for table in reversed(tables):
                conn.execute(table.delete())
            # Ids start at 1 again, as the sequences' reset does below (tables use AUTOINCREMENT).
            conn.execute(text("DELETE FROM sqlite_sequence"))
        else:
            # DELETEs, not one TRUNCATE of every table: TRUNCATE gives each table and
            # index a new file, 160-220 ms for these 30 tables on every PostgreSQL test,
            # against 2.5 ms for DELETEs of the few rows a test leaves. A table that grew
            # large (a bulk or benchmark-sized test) is truncated, so that no later test
            # scans its dead rows.
            names = {t.name for t in tables}
            large = [
                f'"{name}"'
                for (name,) in conn.execute(
                    text(
                        "SELECT relname FROM pg_stat_user_tables"
                        " WHERE n_live_tup + n_dead_tup > :rows"
                    ),
                    {"rows": _TRUNCATE_ABOVE_ROWS},
                )
                if name in names
            ]
            if large:
                conn.execute(text(f"TRUNCATE {', '.join(large)} CASCADE"))
            for table in reversed(tables):
                conn.execute(table.delete())
            # Ids start at 1 again (what TRUNCATE ... RESTART IDENTITY did).
            conn.execute(
                text(
                    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
                )
            )


def dispose_shared_databases() -> None:
    for database in _databases.values():
        database.dispose()

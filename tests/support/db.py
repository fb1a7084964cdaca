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
            # Ids start at 1 again, as RESTART IDENTITY does below (tables use AUTOINCREMENT).
            conn.execute(text("DELETE FROM sqlite_sequence"))
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def dispose_shared_databases() -> None:
    for database in _databases.values():
        database.dispose()

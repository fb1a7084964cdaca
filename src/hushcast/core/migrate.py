"""Applying Alembic migrations programmatically (``hushcast migrate``, ``serve``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hushcast.core.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(db: Database) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        if db.is_sqlite:
            pass
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_up_to_date(db: Database) -> bool:
    script = ScriptDirectory.from_config(alembic_config(db.url))
    with db.read_engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())

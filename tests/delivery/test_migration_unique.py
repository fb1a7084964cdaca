"""Migration 0002d: duplicates from earlier versions are removed (the delivered one is
kept), then the unique index holds; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import create_database
from hushcast.core.migrate import alembic_config
from hushcast.messages.models import messages
from hushcast.orgs.models import organizations
from tests.support.db import PG_ADMIN_URL
from tests.support.db import pg_admin as _pg_admin

NOW = datetime(2030, 1, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"hushcast_mig_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_duplicates_are_removed_keeping_the_delivered_row(empty_url: str) -> None:
    db = create_database(empty_url, null_pool=True)
    try:
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with db.engine.begin() as conn:
            ex = conn.execute
            ex(sa.insert(organizations).values(id=1, name="o", created_at=NOW))
            ex(
                sa.insert(apps).values(
                    id=1,
                    uuid="u",
                    organization_id=1,
                    bot_token="t",
                    bot_id=1,
                    bot_username="b",
                    created_at=NOW,
                )
            )
            ex(
                sa.insert(messages).values(
                    id=1, organization_id=1, name="m", text="t", created_at=NOW, updated_at=NOW
                )
            )
            ex(
                sa.insert(broadcasts).values(
                    id=1,
                    organization_id=1,
                    app_id=1,
                    message_id=1,
                    start_date=NOW,
                    status="RUNNING",
                    created_at=NOW,
                )
            )
            for rid, token, status in [
                (1, "a", "IN_QUEUE"),
                (2, "a", "DELIVERED"),
                (3, "b", "ERROR"),
                (4, "b", "IN_QUEUE"),
                (5, "c", "DELIVERED"),
            ]:
                ex(
                    sa.text(
                        "INSERT INTO deliveries (id, organization_id, app_id, broadcast_id,"
                        " message_id, kind, priority, token, status, attempts, available_at,"
                        " created_at) VALUES (:id, 1, 1, 1, 1, 'broadcast', 1, :t, :s, 0, :n, :n)"
                    ),
                    {"id": rid, "t": token, "s": status, "n": NOW},
                )
            # Transactional rows (no broadcast) may share a chat id: untouched.
            for rid in (6, 7):
                ex(
                    sa.text(
                        "INSERT INTO deliveries (id, organization_id, app_id, message_id, kind,"
                        " priority, token, status, attempts, available_at, created_at)"
                        " VALUES (:id, 1, 1, 1, 'smartsend', 0, 'a', 'DELIVERED', 0, :n, :n)"
                    ),
                    {"id": rid, "n": NOW},
                )
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002d")
        with db.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT id FROM deliveries ORDER BY id")).scalars().all()
            assert kept == [2, 3, 5, 6, 7]
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(
                    sa.text(
                        "INSERT INTO deliveries (organization_id, app_id, broadcast_id,"
                        " message_id, kind, priority, token, status, attempts, available_at,"
                        " created_at) VALUES (1, 1, 1, 1, 'broadcast', 1, 'c', 'IN_QUEUE', 0,"
                        " :n, :n)"
                    ),
                    {"n": NOW},
                )
    finally:
        db.dispose()

"""The integrity migrations on databases holding yesterday's data (SQLite and PostgreSQL).

Each test builds a database at revision 0001, writes what the old code allowed
(duplicate contacts, chat ids in several spellings), upgrades to head and checks
that nothing was lost and the new rules hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, insert, select, text

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database, create_database
from hushcast.core.migrate import alembic_config, upgrade
from hushcast.groups.models import group_contacts, groups
from hushcast.orgs.models import organizations
from tests.support.db import PG_ADMIN_URL
from tests.support.db import pg_admin as _pg_admin

T0 = datetime(2026, 1, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def old_db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """An empty database migrated to 0001 only."""
    admin = None
    name = ""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        try:
            admin = _pg_admin()
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"PostgreSQL not reachable: {exc}")
        name = f"hushcast_mig_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    db = create_database(url, null_pool=True)
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    try:
        yield db
    finally:
        db.dispose()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _org(conn: Connection, name: str) -> int:
    return int(
        conn.execute(
            insert(organizations).values(name=name, created_at=T0).returning(organizations.c.id)
        ).scalar_one()
    )


def _app(conn: Connection, org: int, bot_id: int) -> int:
    return int(
        conn.execute(
            insert(apps)
            .values(
                uuid=str(uuid.uuid4()),
                organization_id=org,
                bot_token=f"{bot_id}:x",
                bot_id=bot_id,
                bot_username=f"b{bot_id}_bot",
                paid_broadcast=False,
                messages_per_second=30,
                private_chat_per_second=1,
                group_per_minute=20,
                paid_messages_per_second=1000,
                created_at=T0,
            )
            .returning(apps.c.id)
        ).scalar_one()
    )


def _contact(conn: Connection, org: int, minutes: int, **values: Any) -> int:
    at = T0 + timedelta(minutes=minutes)
    return int(
        conn.execute(
            insert(contacts)
            .values(organization_id=org, created_at=at, updated_at=at, **values)
            .returning(contacts.c.id)
        ).scalar_one()
    )


def test_duplicate_contacts_are_merged_into_the_oldest(old_db: Database) -> None:
    with old_db.engine.begin() as conn:
        org, other_org = _org(conn, "acme"), _org(conn, "rival")
        app = _app(conn, org, 1)
        # a and b share an externalCustomerId, b and c a phone, c and d an email: one person.
        a = _contact(conn, org, 0, external_customer_id="E", first_name="Ann", fields={"x": 1})
        b = _contact(conn, org, 1, external_customer_id="E", phone="111", fields={"x": 2, "y": 2})
        c = _contact(conn, org, 2, phone="111", email="m@x.io", last_name="Lee")
        d = _contact(conn, org, 3, email="m@x.io", time_zone="Europe/Kyiv")
        lone = _contact(conn, org, 4, external_customer_id="F")
        # The same identifiers in another organisation are another person.
        theirs = _contact(conn, other_org, 5, external_customer_id="E", phone="111")
        conn.execute(
            insert(app_tokens),
            [
                {"app_id": app, "contact_id": cid, "token": str(100 + i), "active": True}
                | {"created_at": T0}
                for i, cid in enumerate((a, b, c, d, lone))
            ],
        )
        g1, g2 = (
            int(
                conn.execute(
                    insert(groups)
                    .values(organization_id=org, name=n, created_at=T0)
                    .returning(groups.c.id)
                ).scalar_one()
            )
            for n in ("g1", "g2")
        )
        conn.execute(
            insert(group_contacts),
            [
                {"group_id": g1, "contact_id": a},
                {"group_id": g1, "contact_id": c},
                {"group_id": g2, "contact_id": d},
            ],
        )

    upgrade(old_db)

    with old_db.read() as conn:
        rows = {int(r.id): r for r in conn.execute(select(contacts))}
        assert set(rows) == {a, lone, theirs}
        survivor = rows[a]
        assert (survivor.external_customer_id, survivor.phone, survivor.email) == (
            "E",
            "111",
            "m@x.io",
        )
        assert (survivor.first_name, survivor.last_name, survivor.time_zone) == (
            "Ann",
            "Lee",
            "Europe/Kyiv",
        )
        assert survivor.fields == {"x": 1, "y": 2}  # the survivor's value wins
        owners = dict(conn.execute(select(app_tokens.c.token, app_tokens.c.contact_id)).all())
        assert owners == {"100": a, "101": a, "102": a, "103": a, "104": lone}
        members = set(conn.execute(select(group_contacts.c.group_id, group_contacts.c.contact_id)))
        assert members == {(g1, a), (g2, a)}
        # The rule now holds in the database itself.
        indexes = _unique_indexes(conn)
        assert {"uq_contacts_org_ext", "uq_contacts_org_phone", "uq_contacts_org_email"} <= indexes


def _unique_indexes(conn: Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("PRAGMA index_list('contacts')")).all()
        return {r[1] for r in rows if r[2]}
    rows = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contacts'")
    ).all()
    return {r[0] for r in rows if "UNIQUE" in r[1]}


def test_chat_ids_are_normalised_and_collisions_merged(old_db: Database) -> None:
    from hushcast.delivery.models import deliveries
    from hushcast.messages.models import messages
    from hushcast.mute.models import mute_events, mutes

    later = T0 + timedelta(days=30)
    with old_db.engine.begin() as conn:
        org = _org(conn, "acme")
        app, other_app = _app(conn, org, 1), _app(conn, org, 2)
        old, new = _contact(conn, org, 0, email="a@x.io"), _contact(conn, org, 1, email="b@x.io")
        tok = {"active": True, "created_at": T0}
        conn.execute(
            insert(app_tokens),
            [
                {"app_id": app, "contact_id": old, "token": "0123", **tok},
                {"app_id": app, "contact_id": old, "token": "-0042", **tok},
                {"app_id": app, "contact_id": new, "token": "+123", **tok},  # newest wins
                {"app_id": app, "contact_id": old, "token": "@shop_news", **tok},
                {"app_id": other_app, "contact_id": old, "token": "+0123", **tok},
                {"app_id": app, "contact_id": old, "token": "0", **tok},  # not a chat id: kept
            ],
        )
        conn.execute(
            insert(mutes),
            [
                {"app_id": app, "token": "123", "muted_until": T0, "updated_at": T0},
                {"app_id": app, "token": "0123", "muted_until": later, "updated_at": T0},
                {"app_id": other_app, "token": "+5", "muted_until": T0, "updated_at": T0},
            ],
        )
        conn.execute(
            insert(mute_events),
            [{"app_id": app, "token": t, "action": "mute", "at": T0} for t in ("0123", "+123")],
        )
        mid = conn.execute(
            insert(messages)
            .values(organization_id=org, name="m", text="t", created_at=T0, updated_at=T0)
            .returning(messages.c.id)
        ).scalar_one()
        conn.execute(
            insert(deliveries),
            [
                {
                    "organization_id": org,
                    "app_id": app,
                    "message_id": mid,
                    "kind": "test",
                    "priority": 0,
                    "token": t,
                    "status": "DELIVERED",
                    "attempts": 1,
                    "available_at": T0,
                    "created_at": T0,
                }
                for t in ("0123", "-0042")
            ],
        )

    upgrade(old_db)

    with old_db.read() as conn:
        rows = {
            (r.app_id, r.token): r.contact_id
            for r in conn.execute(
                select(app_tokens.c.app_id, app_tokens.c.token, app_tokens.c.contact_id)
            )
        }
        assert rows == {
            (app, "123"): new,
            (app, "-42"): old,
            (app, "@shop_news"): old,
            (app, "0"): old,
            (other_app, "123"): old,
        }
        assert {(r.app_id, r.token, r.muted_until) for r in conn.execute(select(mutes))} == {
            (app, "123", later),
            (other_app, "5", T0),
        }
        assert set(conn.execute(select(mute_events.c.token)).scalars()) == {"123"}
        assert sorted(conn.execute(select(deliveries.c.token)).scalars()) == ["-42", "123"]


def test_sqlite_rebuild_keeps_every_row_and_never_reuses_ids(old_db: Database) -> None:
    with old_db.engine.begin() as conn:
        org = _org(conn, "acme")
        app = _app(conn, org, 1)
        cids = [_contact(conn, org, i, email=f"{i}@x.io") for i in range(3)]
        conn.execute(
            insert(app_tokens),
            [
                {"app_id": app, "contact_id": c, "token": str(10 + c), "active": True}
                | {"created_at": T0}
                for c in cids
            ],
        )
        gid = conn.execute(
            insert(groups)
            .values(organization_id=org, name="g", created_at=T0)
            .returning(groups.c.id)
        ).scalar_one()
        conn.execute(insert(group_contacts), [{"group_id": gid, "contact_id": c} for c in cids])

    upgrade(old_db)

    with old_db.engine.begin() as conn:
        # Nothing was cascaded away by the table rebuilds, ids kept.
        assert sorted(conn.execute(select(contacts.c.id)).scalars()) == cids
        assert len(conn.execute(select(app_tokens)).all()) == 3
        assert len(conn.execute(select(group_contacts)).all()) == 3
        assert conn.execute(select(apps.c.id)).scalar_one() == app
        # Delete the newest contact: its id is not handed out again.
        conn.execute(contacts.delete().where(contacts.c.id == cids[-1]))
        assert _contact(conn, org, 9, email="new@x.io") > cids[-1]
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrated_sqlite_schema_matches_the_models(tmp_path: Any) -> None:
    """Migrations and models describe the same SQLite schema (AUTOINCREMENT, unique and
    partial indexes, foreign keys)."""
    from hushcast.models import metadata

    migrated = create_database(f"sqlite:///{tmp_path / 'migrated.db'}", null_pool=True)
    upgrade(migrated)
    built = create_database(f"sqlite:///{tmp_path / 'built.db'}", null_pool=True)
    metadata.create_all(built.engine)

    def describe(db: Database) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with db.engine.connect() as conn:
            for table in metadata.sorted_tables:
                name = table.name
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (name,)
                ).scalar_one()
                cols = conn.exec_driver_sql(f"PRAGMA table_info('{name}')").all()
                idx = {
                    (r[1], r[2], r[4])
                    for r in conn.exec_driver_sql(f"PRAGMA index_list('{name}')")
                    if not r[1].startswith("sqlite_autoindex")
                }
                fks = {
                    tuple(r[2:6]) + (r[6],)
                    for r in conn.exec_driver_sql(f"PRAGMA foreign_key_list('{name}')")
                }
                out[name] = {
                    "autoincrement": "AUTOINCREMENT" in sql,
                    "columns": [(c[1], c[2].upper(), c[3], c[5]) for c in cols],
                    "indexes": idx,
                    "fks": fks,
                }
        return out

    try:
        assert describe(migrated) == describe(built)
    finally:
        migrated.dispose()
        built.dispose()

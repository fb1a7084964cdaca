"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away database created for the run on the server
at HUSHCAST_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
When no server answers they are skipped with a loud message, except under CI
(CI=true), where that is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from hushcast.core.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database, create_database
from hushcast.core.migrate import upgrade
from hushcast.core.models import metadata
from hushcast.orgs.service import create_key
from hushcast.telegram.fake_server import FakeTelegramConfig
from hushcast.telegram.testing import (
    TEST_BOT_ID,
    TEST_BOT_TOKEN,
    TEST_BOT_USERNAME,
    FakeTelegramThread,
)

PG_ADMIN_URL = os.environ.get("HUSHCAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

_pg_skip_reason: str | None = None


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=3
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        print("\n" + "!" * 70 + f"\n!!! SKIPPING POSTGRESQL TESTS: {msg}\n" + "!" * 70)
        pytest.skip(msg)
    name = f"hushcast_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    db = create_database(url, null_pool=True)
    upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        # A fresh connection: the server may have been restarted meanwhile
        # (tests/reliability/test_postgres_restart.py).
        admin.close()
        admin = _pg_admin()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "hushcast.db"
    url = f"sqlite:///{path}"
    db = create_database(url)
    upgrade(db)
    db.dispose()
    return url


# One Database (and one app, below) per backend for the whole run: building them per
# test cost more than most tests. Each test starts from empty tables instead.
_databases: dict[str, Database] = {}


def shared_database(url: str) -> Database:
    if url not in _databases:
        _databases[url] = create_database(url, pool_size=5)
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


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    wipe(shared_database(url))
    return url


@pytest.fixture
def db(db_url: str) -> Database:
    return shared_database(db_url)


@pytest.fixture(scope="session")
def _session_fake() -> Iterator[FakeTelegramThread]:
    thread = FakeTelegramThread()
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def fake_telegram(_session_fake: FakeTelegramThread) -> FakeTelegramThread:
    """The run's fake Telegram server, reset: default limits, no messages, the test bot."""
    fake = _session_fake
    fake._call(lambda: setattr(fake.server, "config", FakeTelegramConfig()))
    fake.clear()
    fake.register_bot(TEST_BOT_TOKEN, TEST_BOT_ID, TEST_BOT_USERNAME, "Hushcast Test Bot")
    return fake


def base_settings(db_url: str, fake_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        telegram_api_url=fake_url,
        telegram_timeout_s=5.0,
        rate_limit_per_key=100000,
        public_url="http://testserver",
    )


@pytest.fixture
def settings(db_url: str, fake_telegram: FakeTelegramThread) -> Settings:
    return base_settings(db_url, str(fake_telegram.base_url))


def make_key(db: Database, org: str) -> str:
    with db.transaction() as conn:
        _, key = create_key(conn, org)
    return key


@pytest.fixture
def api_key(db: Database) -> str:
    return make_key(db, "acme")


@pytest.fixture
def other_key(db: Database) -> str:
    return make_key(db, "rival")


_clients: dict[str, TestClient] = {}


@pytest.fixture(scope="session", autouse=True)
def _close_shared() -> Iterator[None]:
    yield
    for c in _clients.values():
        c.__exit__(None, None, None)
    for database in _databases.values():
        database.dispose()


@pytest.fixture
def client(settings: Settings, db: Database, api_key: str) -> TestClient:
    """A TestClient of the app (no worker), shared per backend, with this test's key."""
    c = _clients.get(settings.database_url)
    if c is None:
        c = TestClient(create_app(settings, db=db), raise_server_exceptions=False)
        c.__enter__()
        _clients[settings.database_url] = c
    c.headers.clear()
    c.cookies.clear()
    c.headers["Authorization"] = f"Bearer {api_key}"
    return c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


_bot_counter = iter(range(1000, 10**6))


def new_bot_token(fake: Any, username: str | None = None) -> str:
    bot_id = 7_000_000_000 + next(_bot_counter)
    token = f"{bot_id}:AAH{uuid.uuid4().hex}"
    fake.register_bot(token, bot_id, username or f"test{bot_id}_bot")
    return token


@pytest.fixture
def app_uuid(client: TestClient, fake_telegram: Any) -> str:
    token = new_bot_token(fake_telegram)
    r = client.post("/v1/apps", json={"botToken": token, "name": "Test bot"})
    assert r.status_code == 201, r.text
    return str(r.json()["appUuid"])


class LiveService:
    """The real service (API + in-process worker) under uvicorn on a free port."""

    def __init__(self, settings: Settings, db: Database, api_key: str) -> None:
        import threading

        import httpx
        import uvicorn

        self.app = create_app(settings, db=db, run_worker=True)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(settings: Settings, db: Database, api_key: str) -> Iterator[LiveService]:
    fast = settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0})
    service = LiveService(fast, db, api_key)
    try:
        yield service
    finally:
        service.stop()

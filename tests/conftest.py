"""Shared fixtures (fixtures only: helpers live in tests/support): every database test
runs on SQLite and on PostgreSQL.

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

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database, create_database
from hushcast.core.migrate import upgrade
from hushcast.telegram.testing import (
    TEST_BOT_ID,
    TEST_BOT_TOKEN,
    TEST_BOT_USERNAME,
    FakeTelegramThread,
)
from tests.support.clock import Clock
from tests.support.db import PG_ADMIN_URL, dispose_shared_databases, pg_admin, shared_database, wipe
from tests.support.service import LiveService, base_settings, make_key, new_bot_token


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = pg_admin()
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
        admin = pg_admin()
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
    fake.reset_config()
    fake.clear()
    fake.register_bot(TEST_BOT_TOKEN, TEST_BOT_ID, TEST_BOT_USERNAME, "Hushcast Test Bot")
    return fake


@pytest.fixture
def settings(db_url: str, fake_telegram: FakeTelegramThread) -> Settings:
    return base_settings(db_url, str(fake_telegram.base_url))


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
    dispose_shared_databases()


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


@pytest.fixture
def app_uuid(client: TestClient, fake_telegram: Any) -> str:
    token = new_bot_token(fake_telegram)
    r = client.post("/v1/apps", json={"botToken": token, "name": "Test bot"})
    assert r.status_code == 201, r.text
    return str(r.json()["appUuid"])


@pytest.fixture
def live(settings: Settings, db: Database, api_key: str) -> Iterator[LiveService]:
    fast = settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0})
    service = LiveService(fast, db, api_key)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The service's clock, movable; back to real time after the test."""
    c = Clock()
    try:
        yield c
    finally:
        c.reset()

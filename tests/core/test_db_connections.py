"""PostgreSQL connections: reads without a transaction, and pooled connections that died
while idle replaced before use (core/db.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import event, text

from hushcast.core import db as core_db
from hushcast.core.db import Database, create_database


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = create_database(pg_url, pool_size=1)
    try:
        yield database
    finally:
        database.dispose()


def _backend_pid(database: Database) -> int:
    with database.read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pg_url: str, pid: int) -> None:
    other = create_database(pg_url, null_pool=True)
    try:
        with other.transaction() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


@pytest.mark.postgres
def test_reads_run_outside_a_transaction_and_writes_inside_one(pg: Database) -> None:
    with pg.read() as conn:
        conn.execute(text("SELECT 1"))
        # No BEGIN was sent: after the statement the session is idle, not in a transaction.
        status = conn.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]
        assert status == psycopg.pq.TransactionStatus.IDLE
    with pg.transaction() as conn:
        conn.execute(text("SELECT 1"))
        status = conn.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]
        assert status == psycopg.pq.TransactionStatus.INTRANS


@pytest.mark.postgres
def test_a_connection_that_died_while_idle_is_replaced_before_use(
    pg: Database, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core_db, "IDLE_PING_S", 0.2)
    first = _backend_pid(pg)
    _terminate(pg_url, first)
    time.sleep(0.3)
    # The pool's only connection is dead; the ping at checkout finds it and opens another.
    second = _backend_pid(pg)
    assert second != first
    with pg.transaction() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


@pytest.mark.postgres
def test_a_connection_used_a_moment_ago_is_not_pinged(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = pg.engine.dialect.do_ping
    monkeypatch.setattr(pg.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    monkeypatch.setattr(core_db, "IDLE_PING_S", 60.0)
    for _ in range(5):
        _backend_pid(pg)
    assert pings == []
    monkeypatch.setattr(core_db, "IDLE_PING_S", 0.0)
    _backend_pid(pg)
    assert len(pings) == 1


@pytest.mark.postgres
def test_more_users_than_connections_wait_for_one_instead_of_opening_more(pg_url: str) -> None:
    # 12 threads, each taking a connection 10 times for 5 ms, share a pool of 4: every
    # connection is opened once and kept. (With an overflow above the kept pool, each
    # connection returned while the pool was full was closed and reopened by the next
    # user: PostgreSQL started 60-80 backends a second under the mute benchmark.)
    database = create_database(pg_url, pool_size=4)
    opened: list[int] = []
    event.listen(database.engine, "connect", lambda *_: opened.append(1))
    barrier = threading.Barrier(12)

    def use() -> None:
        barrier.wait()
        for _ in range(10):
            with database.read() as conn:
                conn.execute(text("SELECT pg_sleep(0.005)"))

    try:
        threads = [threading.Thread(target=use) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        database.dispose()
    assert len(opened) == 4


@pytest.mark.postgres
def test_a_light_load_after_a_burst_reuses_one_connection_without_pings(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A burst opens 4 connections; then one user at a time, every 0.2 s. Handed out most
    # recently used first, the same connection serves them all and is never idle long
    # enough (0.5 s here) to be pinged; first in, first out pinged at every checkout.
    monkeypatch.setattr(core_db, "IDLE_PING_S", 0.5)
    database = create_database(pg_url, pool_size=4)
    pings: list[int] = []
    real_ping = database.engine.dialect.do_ping
    monkeypatch.setattr(
        database.engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn)
    )
    try:
        burst = [database.engine.connect() for _ in range(4)]
        for conn in burst:
            conn.close()
        for _ in range(8):
            time.sleep(0.2)
            _backend_pid(database)
    finally:
        database.dispose()
    assert len(pings) <= 1, pings  # one, if the machine stalled for 0.3 s

"""Engines, metadata and transaction helpers.

SQL lives in each module's ``repository.py``; this file only knows how to
connect. Transactions are opened here and committed by the caller at the
request or job boundary (services never commit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    exc,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# SQLAlchemy logs statements at INFO and every result row at DEBUG on the
# "sqlalchemy.engine" logger; rows hold bot tokens. Left unset, that logger would follow
# a root logger set to DEBUG, so it gets WARNING unless configured explicitly (an explicit
# INFO shows statements only: parameters are hidden, see hide_parameters below).
_sql_log = logging.getLogger("sqlalchemy.engine")
if _sql_log.level == logging.NOTSET:
    _sql_log.setLevel(logging.WARNING)

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

SQLITE_BUSY_TIMEOUT_S = 30

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# IN lists are cut into chunks of this size, well under SQLite's bound-parameter limit.
IN_CHUNK = 900


def chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


@dataclass
class Database:
    """The write engine and a read engine (the same one on PostgreSQL).

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` so that
    concurrent writers queue on the busy timeout instead of failing with
    "database is locked" when a read transaction tries to upgrade; reads use a
    plain deferred ``BEGIN`` and run beside the writer thanks to WAL.
    """

    url: str
    engine: Engine
    read_engine: Engine
    # SQLite has one writer at a time. Writers of this process queue on this lock
    # (FIFO-ish, no sleeping) instead of in SQLite's busy handler, which sleeps in
    # growing steps and made the mute API collapse under concurrent load. Other
    # processes still queue on the busy timeout. A plain Lock, not an RLock: FastAPI
    # may enter and leave a request's transaction in different threads.
    _write_lock: threading.Lock | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._write_lock is None and self.engine.dialect.name == "sqlite":
            self._write_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        lock = self._write_lock
        if lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        # Same bound as SQLite's busy timeout, so a stuck writer still fails loudly.
        if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            raise TimeoutError("database is locked (another writer of this process)")
        writer: Connection | None = None
        try:
            writer = self.engine.connect()
            with writer.begin():
                yield writer
        finally:
            # Released once the transaction has ended, before the connection goes back
            # to the pool: the lock is held for no more than BEGIN ... COMMIT needs.
            lock.release()
            if writer is not None:
                writer.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def _sqlite_engine(url: str, begin: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
        pool_size=16,
        max_overflow=32,
        # Rows hold bot tokens: keep SQL parameters out of SQL logging and of error messages.
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    # pysqlite leaves BEGIN to us (isolation_level=None above). Issued from the dialect's
    # do_begin on the DBAPI connection rather than from a "begin" event through
    # exec_driver_sql: the same statement at a third of the cost of an empty transaction,
    # and a failure is still wrapped (OperationalError "database is locked" -> 503).
    def _do_begin(dbapi_conn: Any) -> None:
        dbapi_conn.execute(begin)

    engine.dialect.do_begin = _do_begin  # type: ignore[method-assign,assignment]
    return engine


def create_database(url: str, *, pool_size: int = 40, null_pool: bool = False) -> Database:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        write = _sqlite_engine(url, "BEGIN IMMEDIATE")
        read = _sqlite_engine(url, "BEGIN")
        return Database(url=url, engine=write, read_engine=read)
    # No server-side prepared statements: with them PostgreSQL soon switches to
    # a generic plan that searches long IN lists linearly (seconds per query).
    kwargs: dict[str, Any] = {
        "connect_args": {"prepare_threshold": None},
        # Rows hold bot tokens: keep SQL parameters out of SQL logging and of error messages.
        "hide_parameters": True,
    }
    if null_pool:
        kwargs["poolclass"] = NullPool
    else:
        # At most ``pool_size`` connections, each opened when first needed and then kept.
        # With an overflow above a smaller kept pool (20 + 20 before), 64 concurrent mutes
        # had PostgreSQL start 60-80 backends a second: the pool closed each overflow
        # connection on its return, and the next request opened another (mute benchmark:
        # 329-428 mutes/s then, 500 without the churn).
        #
        # Most recently used first: a light load keeps reusing the connection it used last,
        # which has not sat idle long enough to need the idle ping (_ping_when_idle).
        # First in, first out cycles through every connection a burst opened, so at a few
        # requests a second each one sat idle over a second and was pinged: a round trip
        # more per request.
        kwargs.update(pool_size=pool_size, max_overflow=0, pool_recycle=1800, pool_use_lifo=True)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    # Reads without BEGIN and COMMIT: two round trips fewer per read (a third of the
    # worker's pre-send check). Under READ COMMITTED every statement takes its own
    # snapshot inside a transaction too, so a read sees nothing different. Same pool.
    read = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(url=url, engine=engine, read_engine=read)


# A pooled connection idle for longer than this is pinged before use.
IDLE_PING_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip on every
    transaction, 13 % of the worker's database threads' CPU at full speed. A connection
    used a moment ago is as good as a ping says; one idle for a while (the server may
    have restarted meanwhile) is pinged and, if dead, replaced before anyone uses it.
    A connection that breaks while in use fails that transaction (the API answers 503,
    the worker retries), and SQLAlchemy then recycles every older pooled connection.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["hushcast_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("hushcast_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return  # new (just connected) or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:
            alive = False
        if not alive:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError("pooled connection is gone")

"""Waking the delivery worker when work is committed, instead of at its next poll.

PostgreSQL: every transaction that creates work for the worker (queues ``deliveries``
rows or makes a broadcast due) calls :func:`notify_work`, a ``pg_notify`` that the
server delivers when, and only if, that transaction commits. The worker keeps one
dedicated autocommit connection that ``LISTEN``\\ s on :data:`CHANNEL`
(:class:`PgListener`) and reconnects with backoff when it drops.

SQLite (API and worker may be separate processes on one machine): nothing is sent;
the worker keeps one dedicated connection and reads ``PRAGMA data_version`` every
few milliseconds (:class:`SqliteWatcher`). It changes whenever another connection,
of any process, commits a change. Most commits (mutes, outcomes) make no work, so a
change is first checked against a cheap signature of the work (:data:`WORK_SIGNATURE`:
the newest ``deliveries`` id and the set of scheduled and running broadcasts); only
when that moved is the worker woken. Which bot has work is unknown, so every running
sender is woken.

Either way polling stays as the fallback: a notification can be lost (while the
listener reconnects, say), and a change the listener missed is found by the next poll.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from hushcast.core.db import Database
from hushcast.delivery import status as st

log = logging.getLogger("hushcast.worker.wakeup")

CHANNEL = "hushcast_work"

# Reconnect backoff of the PostgreSQL listener: first retry at once, then doubling.
RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 5.0

# SQLite: what moves when work is created. New rows in deliveries (smartsend, test send,
# planning) move the newest id; a broadcast created, resumed, started or ended changes the
# count or the id sum of the scheduled and running ones. Both read an index, not a table.
WORK_SIGNATURE = (
    "SELECT (SELECT max(id) FROM deliveries), count(*), total(id) FROM broadcasts"
    f" WHERE status IN ('{st.B_SCHEDULED}', '{st.B_RUNNING}')"
)

# The listener's callback: the ids of the bots with new work, or None for "unknown,
# maybe any" (SQLite; or after a (re)connect, when notifications may have been missed).
WakeCallback = Callable[[set[int] | None], None]


def notify_work(conn: Connection, app_id: int) -> None:
    """Wakes the workers for this bot when the caller's transaction commits.

    PostgreSQL only (delivered on commit, never on rollback; identical notifications of
    one transaction are folded into one). A no-op on SQLite, whose worker notices any
    commit by itself.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": str(int(app_id))},
    )


class WakeSource:
    """Runs until cancelled, calling ``on_wake`` in the event loop's thread."""

    def __init__(self, on_wake: WakeCallback) -> None:
        self.on_wake = on_wake
        # Set once the source listens (for tests and diagnostics).
        self.ready = threading.Event()

    async def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PgListener(WakeSource):
    """``LISTEN hushcast_work`` on one dedicated autocommit psycopg connection."""

    def __init__(self, db: Database, on_wake: WakeCallback) -> None:
        super().__init__(on_wake)
        engine = db.engine
        _, params = engine.dialect.create_connect_args(engine.url)
        params = {k: v for k, v in params.items() if k != "context"}
        params.setdefault("connect_timeout", 5)
        # Notice a silently dead connection (a vanished peer sends no FIN).
        params.setdefault("keepalives", 1)
        params.setdefault("keepalives_idle", 30)
        params.setdefault("keepalives_interval", 10)
        params.setdefault("keepalives_count", 3)
        self._params: dict[str, Any] = params
        self.backend_pid: int | None = None
        self.connects = 0

    async def run(self) -> None:
        import psycopg

        backoff = 0.0
        while True:
            if backoff:
                await asyncio.sleep(backoff)
            backoff = min(max(backoff * 2, RECONNECT_MIN_S), RECONNECT_MAX_S)
            try:
                conn = await psycopg.AsyncConnection.connect(autocommit=True, **self._params)
            except Exception as exc:  # noqa: BLE001 - any failure: retry later
                log.warning("wake-up listener: cannot connect (%s); retrying", exc)
                continue
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                self.backend_pid = conn.info.backend_pid
                self.connects += 1
                self.ready.set()
                backoff = 0.0
                # Work may have been committed while not listening: look once.
                self.on_wake(None)
                async for note in conn.notifies():
                    self.on_wake(_parse(note.payload))
            except Exception as exc:  # noqa: BLE001 - a dropped connection: reconnect
                log.warning("wake-up listener: connection lost (%s); reconnecting", exc)
            finally:
                self.ready.clear()
                try:
                    await conn.close()
                except Exception:  # noqa: BLE001
                    log.debug("wake-up listener: close failed", exc_info=True)


def _parse(payload: str) -> set[int] | None:
    try:
        return {int(payload)}
    except ValueError:
        return None


class SqliteWatcher(WakeSource):
    """Reads ``PRAGMA data_version`` on a dedicated connection every ``interval`` s, and
    :data:`WORK_SIGNATURE` when it changed; wakes the worker when the signature moved.

    The connection is in autocommit mode and each read steps its statement to the end,
    so no read transaction stays open between reads (WAL checkpoints are never
    blocked). A ``data_version`` read is a shared-memory lookup of a few microseconds;
    idle, the thread's wake-ups cost about 1% of a core at the default 10 ms.
    """

    def __init__(self, path: str, on_wake: WakeCallback, interval: float = 0.01) -> None:
        super().__init__(on_wake)
        self.path = path
        self.interval = max(0.001, interval)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._watch, args=(loop, stop), name="hushcast-wakeup", daemon=True
        )
        thread.start()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 5.0)

    def _watch(self, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        last: int | None = None
        signature: Any = None
        try:
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = sqlite3.connect(
                            self.path, timeout=1.0, isolation_level=None, check_same_thread=False
                        )
                        last = None
                    version = int(conn.execute("PRAGMA data_version").fetchall()[0][0])
                    changed = version != last
                    if changed:
                        before, signature = signature, conn.execute(WORK_SIGNATURE).fetchall()
                        # The first read after (re)opening always wakes: work may have been
                        # committed before it.
                        changed = last is None or signature != before
                        last = version
                except sqlite3.Error as exc:
                    log.warning("wake-up watcher: %s; retrying", exc)
                    if conn is not None:
                        conn.close()
                        conn = None
                    self.ready.clear()
                    stop.wait(1.0)
                    continue
                if changed:
                    self.ready.set()
                    try:
                        loop.call_soon_threadsafe(self.on_wake, None)
                    except RuntimeError:  # the event loop is closed
                        return
                stop.wait(self.interval)
        finally:
            self.ready.clear()
            if conn is not None:
                conn.close()


def wake_source(db: Database, on_wake: WakeCallback, interval: float) -> WakeSource | None:
    """The wake-up source for this database, or None (an in-memory SQLite database)."""
    if db.is_sqlite:
        path = make_url(db.url).database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return SqliteWatcher(path, on_wake, interval)
    if db.engine.dialect.name == "postgresql":
        return PgListener(db, on_wake)
    return None

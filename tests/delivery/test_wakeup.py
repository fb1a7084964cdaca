"""The worker is woken when work is committed: NOTIFY on PostgreSQL, PRAGMA data_version on
SQLite. Polling is set to 30 s here, so what is delivered within the (generous) waits
below was found through a wake-up, not by a poll. These are not timing assertions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from hushcast.broadcasts.models import broadcasts
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.delivery import status as st
from hushcast.delivery.wakeup import CHANNEL, PgListener, notify_work
from hushcast.delivery.worker import Worker
from tests.support.broadcasts import add_delivery, add_message, app_id, connect_bot, register
from tests.support.processes import start_worker
from tests.support.waiting import wait_for

SLOW_POLL = {"worker_poll_s": 30.0, "worker_lease_s": 5.0}
WAIT_S = 10.0

pg_only = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


class WorkerThread:
    """A Worker in its own event loop (uvloop, as under ``hushcast serve``), sharing the
    test's Database with the API like the in-process worker does."""

    def __init__(self, db: Database, settings: Settings) -> None:
        import uvloop

        self.worker = Worker(db, settings)
        self.ticks = 0
        tick = self.worker._tick

        async def counted() -> None:
            try:
                await tick()
            finally:
                self.ticks += 1

        self.worker._tick = counted  # type: ignore[method-assign]
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self.worker.run())
        finally:
            self.loop.close()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Runs fn in the worker's loop and returns its result."""
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result(5)

    def ready(self) -> bool:
        """Listening, and past its first look for work: from now on only wake-ups look."""
        source = self.worker.wake_source
        return self.ticks >= 1 and source is not None and source.ready.is_set()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(0.3)
        if self.thread.is_alive():
            # An idle sender sleeps out worker_poll_s (30 s here) before it sees the stop.
            def cancel() -> None:
                for _, task in list(self.worker.senders.values()):
                    task.cancel()

            self.loop.call_soon_threadsafe(cancel)
            self.thread.join(15.0)
        assert not self.thread.is_alive()


@pytest.fixture
def worker(settings: Settings, db: Database) -> Iterator[WorkerThread]:
    w = WorkerThread(db, settings.model_copy(update=SLOW_POLL))
    try:
        wait_for(w.ready, timeout=WAIT_S)
        yield w
    finally:
        w.stop()


def smartsend(client: TestClient, mid: int, app_uuid: str, token: str) -> None:
    r = client.post(
        f"/v1/message/{mid}/smartsend",
        json={"recipients": [{"locator": token}], "email": False, "appId": app_uuid},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "OK", r.text


def planned(db: Database, broadcast_id: int) -> bool:
    with db.read() as conn:
        row = conn.execute(
            select(broadcasts.c.planned_at).where(broadcasts.c.id == broadcast_id)
        ).first()
    return row is not None and row.planned_at is not None


# --- the in-process worker (shares the API's Database) -----------------------------------------


def test_smartsend_and_broadcast_wake_the_worker(
    worker: WorkerThread, client: TestClient, db: Database, fake_telegram: Any
) -> None:
    first = connect_bot(client, fake_telegram)
    second = connect_bot(client, fake_telegram)
    register(client, first, [("5001", "c1")])
    register(client, second, [("6001", "d1"), ("6002", "d2"), ("6003", "d3")])
    mid = add_message(db)

    smartsend(client, mid, first, "5001")
    wait_for(lambda: fake_telegram.messages("5001"), timeout=WAIT_S)

    # A broadcast for another bot: all its recipients are queued (planned) at once.
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": second})
    assert r.status_code == 200, r.text
    bid = int(r.json()["broadcastId"])
    wait_for(lambda: planned(db, bid), timeout=WAIT_S)
    assert client.get(f"/v1/broadcast/{bid}").json()["totalContacts"] == 3

    # The first bot's sender is still running (idle): a new smartsend wakes it.
    woken: list[int] = []

    def spy() -> None:
        sender, _ = worker.worker.senders[app_id(db, first)]
        wake = sender.wake

        def recording() -> None:
            woken.append(1)
            wake()

        sender.wake = recording  # type: ignore[method-assign]

    worker.call(spy)
    smartsend(client, mid, first, "5001")
    wait_for(lambda: woken, timeout=WAIT_S)


@pg_only
def test_listener_survives_a_dropped_connection(
    worker: WorkerThread, client: TestClient, db: Database, fake_telegram: Any
) -> None:
    source = worker.worker.wake_source
    assert isinstance(source, PgListener)
    pid = source.backend_pid
    with db.transaction() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    wait_for(lambda: source.connects >= 2 and source.ready.is_set(), timeout=WAIT_S)
    assert source.backend_pid != pid

    app_uuid = connect_bot(client, fake_telegram)
    register(client, app_uuid, [("7001", "c1")])
    smartsend(client, add_message(db), app_uuid, "7001")
    wait_for(lambda: fake_telegram.messages("7001"), timeout=WAIT_S)


# --- a separate worker process (hushcast worker) --------------------------------------------------


def test_separate_worker_process_is_woken(
    client: TestClient, db: Database, db_url: str, fake_telegram: Any
) -> None:
    first = connect_bot(client, fake_telegram)
    second = connect_bot(client, fake_telegram)
    register(client, first, [("8001", "c1")])
    register(client, second, [("8002", "c2")])
    mid = add_message(db)
    proc = start_worker(
        db_url, str(fake_telegram.base_url), poll_s=30, lease_s=5, log=subprocess.DEVNULL
    )
    try:
        # Delivered by the worker's first look or a wake-up: either way it is running now.
        smartsend(client, mid, first, "8001")
        wait_for(lambda: fake_telegram.messages("8001"), timeout=30)
        smartsend(client, mid, second, "8002")
        wait_for(lambda: fake_telegram.messages("8002"), timeout=WAIT_S)
    finally:
        # Not a graceful stop: an idle sender would sleep out the 30 s poll first.
        proc.kill()
        proc.wait()


# --- the wake-up sources ----------------------------------------------------------------------


def _listen(db_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db_url, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _payloads(conn: psycopg.Connection[Any], expected: int = 0) -> list[str]:
    """The notifications that arrive: the expected number (then any more within 0.1 s)."""
    got = [n.payload for n in conn.notifies(timeout=5, stop_after=expected)] if expected else []
    return got + [n.payload for n in conn.notifies(timeout=0.1)]


@pg_only
def test_every_api_call_that_creates_work_notifies(
    client: TestClient, db: Database, db_url: str, app_uuid: str
) -> None:
    register(client, app_uuid, [("9001", "c1")])
    mid = add_message(db)
    aid = str(app_id(db, app_uuid))
    listener = _listen(db_url)
    try:
        smartsend(client, mid, app_uuid, "9001")
        assert _payloads(listener, 1) == [aid]
        r = client.post(f"/v1/message/{mid}/test", json={"tokens": ["9001"], "appId": app_uuid})
        assert r.status_code == 202, r.text
        assert _payloads(listener, 1) == [aid]
        r = client.post(
            "/v1/broadcast",
            json={"messageId": mid, "appId": app_uuid, "startDate": "2099-01-01T00:00"},
        )
        assert r.status_code == 200, r.text
        assert _payloads(listener, 1) == [aid]
        bid = int(r.json()["broadcastId"])
        assert client.post(f"/v1/broadcast/{bid}/pause").status_code == 200
        assert _payloads(listener) == []
        assert client.post(f"/v1/broadcast/{bid}/resume").status_code == 200
        assert _payloads(listener, 1) == [aid]
        # A request that fails is rolled back: nothing queued, nobody woken.
        r = client.post(
            f"/v1/message/{mid}/smartsend",
            json={"recipients": [{"locator": "9001"}], "email": False, "appId": "nope"},
        )
        assert r.status_code == 400
        r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "9001"})
        assert r.status_code == 200
        assert _payloads(listener) == []
        # A mute that releases held rows (a shorter one replacing it) wakes the workers.
        add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token="9001", status=st.HELD, broadcast_id=bid
        )
        r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "9001", "duration": 9})
        assert r.status_code == 200
        assert _payloads(listener, 1) == [aid]
    finally:
        listener.close()


@pg_only
def test_notification_is_sent_on_commit_only(db: Database) -> None:
    received: list[set[int] | None] = []

    async def main() -> None:
        listener = PgListener(db, received.append)
        task = asyncio.create_task(listener.run())
        try:
            while not listener.ready.is_set():
                await asyncio.sleep(0.01)

            def rolled_back() -> None:
                with pytest.raises(RuntimeError), db.transaction() as conn:
                    notify_work(conn, 41)
                    raise RuntimeError

            def committed_late() -> None:
                with db.transaction() as conn:
                    notify_work(conn, 42)
                    loop.call_soon_threadsafe(inside.set)
                    threading.Event().wait(0.3)
                    assert {42} not in received  # not before the commit

            loop = asyncio.get_running_loop()
            inside = asyncio.Event()
            await asyncio.to_thread(rolled_back)
            await asyncio.to_thread(committed_late)
            for _ in range(500):
                if {42} in received:
                    break
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert {42} in received
    assert {41} not in received


def test_notify_work_is_a_no_op_on_sqlite(db: Database) -> None:
    with db.transaction() as conn:
        notify_work(conn, 1)  # no error on either backend, and nothing to send on SQLite


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_watcher_does_not_block_checkpoints(
    worker: WorkerThread, client: TestClient, db: Database, db_url: str, app_uuid: str
) -> None:
    register(client, app_uuid, [(str(10_000 + i), f"c{i}") for i in range(50)])
    threading.Event().wait(0.05)  # several data_version reads since the writes
    path = make_url(db_url).database
    assert path
    conn = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    try:
        busy, log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    assert (busy, log_frames, checkpointed) == (0, 0, 0)

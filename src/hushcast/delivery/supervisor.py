"""The worker's supervisor: finds bots with work, takes their leases, runs one
``AppSender`` per leased bot, and reacts to wake-ups (``delivery/wakeup.py``).

One worker drives a bot at a time (a lease in ``app_leases``, renewed while it
works), so the bot's rate budget is never split or exceeded.

Crash safety: a claimed row is SENDING in the database until its outcome is
recorded. A worker that dies loses its lease; the next holder puts the dead
worker's SENDING rows back in the queue, so nothing is lost. The price is the
duplicate window: a row that reached Telegram but whose outcome was not yet
recorded (in flight, or in the outcome buffer flushed every 100 ms) is sent
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import lease_repository as leases
from hushcast.delivery.sender import AppSender
from hushcast.delivery.slots import SendSlots
from hushcast.delivery.store import SqlDeliveryStore
from hushcast.telegram.client import HttpTelegramClient, TelegramClient
from hushcast.updates import runner as updates_runner
from hushcast.webhooks import dispatcher as webhook_dispatcher

log = logging.getLogger("hushcast.worker")


class Worker:
    """Finds bots with work, takes their leases, runs one AppSender per bot.

    It looks for work every ``worker_poll_s``, and at once when woken: a NOTIFY on
    PostgreSQL, a commit seen through ``PRAGMA data_version`` on SQLite (see
    ``delivery/wakeup.py``). A wake-up for a bot this worker sends also wakes its sender.
    """

    # A bot whose lease another worker held at our last try is not looked for on its
    # notifications for this long (its holder is woken by them too).
    LEASED_ELSEWHERE_S = 1.0

    def __init__(
        self,
        db: Database,
        settings: Settings,
        telegram: TelegramClient | None = None,
        worker_id: str | None = None,
        secret: str | None = None,
        run_webhooks: bool = False,
    ) -> None:
        self.db = db
        # The webhook dispatcher beside the senders (``hushcast worker --webhooks``); by
        # default it runs in the API processes (hushcast.app.create_app).
        self.run_webhooks = run_webhooks
        self.store = SqlDeliveryStore(db)
        self.secret = secret or settings.secret_key
        self.settings = settings
        self._own_client = telegram is None
        # At least as many connections as slots: a checked send never waits for one.
        self.client: Any = telegram or HttpTelegramClient(
            settings.telegram_api_url,
            timeout=settings.telegram_timeout_s,
            max_connections=max(512, settings.worker_concurrency),
        )
        self.slots = SendSlots(settings.worker_concurrency)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.senders: dict[int, tuple[AppSender, asyncio.Task[None]]] = {}
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        from hushcast.delivery import wakeup

        # Set to look for work now rather than at the next poll (see delivery/wakeup.py).
        self._wakeup: asyncio.Event | None = None
        self.wake_source: wakeup.WakeSource | None = None
        # Bots whose sender was woken: when that sender ends, look again at once (the
        # wake-up may have reached it while it was winding down).
        self._woken: set[int] = set()
        # Bots whose lease another worker held at our last try (monotonic time): their
        # notifications do not make this worker look; the holder was woken too.
        self._leased_elsewhere: dict[int, float] = {}

    def stop(self) -> None:
        """Graceful stop: no new claims; in-flight sends finish and are recorded."""
        self._stop_requested = True
        if self._stopping is not None:
            self._stopping.set()
        if self._wakeup is not None:
            self._wakeup.set()
        for sender, _ in self.senders.values():
            sender.stopping = True
            sender.woken.set()

    async def run(self) -> None:
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        if self.secret is None:
            self.secret = await asyncio.to_thread(self._load_secret)
        listener = self._start_wake_source()
        webhooks = webhook_dispatcher.start(self.db) if self.run_webhooks else None
        updates = updates_runner.start(self.db, self.settings, self.worker_id, self._secrets)
        log.info("worker %s started", self.worker_id)
        try:
            while not self._stopping.is_set():
                # Cleared before the tick: a wake-up during it starts the next one at once.
                self._wakeup.clear()
                try:
                    await self._tick()
                    waiter = self._wakeup
                except Exception:
                    log.exception("worker tick failed; retrying")
                    waiter = self._stopping  # no tight loop of wake-ups into a failure
                # Polling stays as the fallback: a wake-up can be lost (reconnects).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), self.settings.worker_poll_s)
        finally:
            if webhooks is not None:
                await webhook_dispatcher.stop(webhooks)
            await updates_runner.stop(updates)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            for sender, _ in self.senders.values():
                sender.stopping = True
            tasks = [t for _, t in self.senders.values()]
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            self.senders.clear()
            if self._own_client:
                await self.client.close()
            log.info("worker %s stopped", self.worker_id)

    # -- wake-ups ------------------------------------------------------------

    def _start_wake_source(self) -> asyncio.Task[None] | None:
        from hushcast.delivery import wakeup

        if not self.settings.worker_wakeup:
            return None
        source = wakeup.wake_source(self.db, self._on_wake, self.settings.worker_wakeup_check_s)
        if source is None:
            return None
        self.wake_source = source
        task = asyncio.create_task(source.run(), name="hushcast-wakeup")
        task.add_done_callback(self._wake_source_done)
        return task

    @staticmethod
    def _wake_source_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("wake-up listener stopped: %r; polling only", task.exception())

    def _on_wake(self, app_ids: set[int] | None) -> None:
        """Work was committed for these bots (None: unknown which). Runs in the loop."""
        look = app_ids is None
        now = time.monotonic()
        for app_id in list(self.senders) if app_ids is None else app_ids:
            entry = self.senders.get(app_id)
            if entry is not None and not entry[1].done():
                entry[0].wake()
                self._woken.add(app_id)
            elif now - self._leased_elsewhere.get(app_id, float("-inf")) >= self.LEASED_ELSEWHERE_S:
                look = True
        if look and self._wakeup is not None:
            self._wakeup.set()

    def _sender_done(self, app_id: int, _task: asyncio.Task[None]) -> None:
        if app_id in self._woken:
            self._woken.discard(app_id)
            if self._wakeup is not None:
                self._wakeup.set()

    def _secrets(self) -> tuple[str, ...]:
        """The secrets a deep link may be signed with (see updates/links.py)."""
        previous = self.settings.secret_key_previous
        current = self.secret or ""
        return (current, previous) if previous and previous != current else (current,)

    def _load_secret(self) -> str:
        from hushcast.orgs.service import get_or_create_secret

        with self.db.transaction() as conn:
            return get_or_create_secret(conn)

    def _discover(self) -> list[int]:
        with self.db.read() as conn:
            return leases.apps_with_work(conn, utcnow())

    def _acquire(self, app_id: int) -> tuple[bool, datetime | None]:
        with self.db.transaction() as conn:
            now = utcnow()
            until = now + timedelta(seconds=self.settings.worker_lease_s)
            held, taken_over, paused = leases.acquire_lease(
                conn, app_id, self.worker_id, now, until
            )
            if held:
                # Whatever is SENDING for this bot now was left by a dead or
                # stopped holder (or by this worker's earlier sender).
                n = leases.requeue_abandoned(conn, app_id)
                if n:
                    log.info("app %s: %d abandoned rows back in the queue", app_id, n)
            del taken_over
            return held, paused

    async def _tick(self) -> None:
        for app_id, (_, task) in list(self.senders.items()):
            if task.done():
                del self.senders[app_id]
        app_ids = await asyncio.to_thread(self._discover)
        for app_id in app_ids:
            if app_id in self.senders or (self._stopping and self._stopping.is_set()):
                continue
            held, paused = await asyncio.to_thread(self._acquire, app_id)
            if not held:
                self._leased_elsewhere[app_id] = time.monotonic()
                continue
            self._leased_elsewhere.pop(app_id, None)
            self._woken.discard(app_id)
            sender = AppSender(
                self.store,
                self.client,
                self.settings,
                app_id,
                self.worker_id,
                paused,
                secret=lambda: self.secret or "",
                slots=self.slots,
            )
            task = asyncio.create_task(sender.run())
            task.add_done_callback(functools.partial(self._sender_done, app_id))
            self.senders[app_id] = (sender, task)

"""The worker's part of updates: per bot, one holder of its lease (across all workers)
reads its updates (getUpdates, in polling mode), applies the stored ones in update_id order
and relays them to the customer's relayUrl.

Durability: updates read through getUpdates are stored together with the new offset in one
transaction, before anything is applied, so a crash loses none (Telegram re-sends what was
not confirmed by the next offset) and repeats none (the offset and the unique
(app_id, update_id) index). Each stored update is applied in its own transaction, which
also marks it applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.exc import DBAPIError

from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.updates import apply, botapi, decide, intake
from hushcast.updates import repository as repo
from hushcast.updates.config import UpdatesSettings
from hushcast.webhooks import guard
from hushcast.webhooks.config import get_webhook_settings

log = logging.getLogger("hushcast.updates")

APPLY_BATCH = 100
RELAY_BATCH = 50
RELAY_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_APPLY_TRIES = 3


class UpdatesRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        worker_id: str,
        secrets: Callable[[], tuple[str, ...]],
        cfg: UpdatesSettings | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id
        self.secrets = secrets
        self.cfg = cfg or UpdatesSettings()
        self.tasks: dict[int, asyncio.Task[None]] = {}
        # Failed tries per stored update (row id): a database error is retried a few times.
        self._failed: dict[int, int] = {}
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    await self._tick()
                except Exception:
                    log.exception("updates tick failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.cfg.idle_s)
        finally:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            await asyncio.to_thread(self._release_all, list(self.tasks))
            self.tasks.clear()

    async def _tick(self) -> None:
        for app_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[app_id]
        app_ids = await asyncio.to_thread(self._read, repo.active_apps, self.worker_id, utcnow())
        for app_id in app_ids:
            if app_id in self.tasks or self._stopping.is_set():
                continue
            if await asyncio.to_thread(self._lease, app_id):
                self.tasks[app_id] = asyncio.create_task(
                    self._serve(app_id), name=f"hushcast-updates-{app_id}"
                )

    # -- database steps (threads) ------------------------------------------------------------

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.db.read() as conn:
            return fn(conn, *args)

    def _lease(self, app_id: int) -> bool:
        now = utcnow()
        with self.db.transaction() as conn:
            return repo.acquire_lease(
                conn, app_id, self.worker_id, now, now + timedelta(seconds=self.cfg.lease_s)
            )

    def _release_all(self, app_ids: list[int]) -> None:
        for app_id in app_ids:
            with contextlib.suppress(Exception), self.db.transaction() as conn:
                repo.release_lease(conn, app_id, self.worker_id)

    def _store_polled(self, app_id: int, items: list[tuple[int, str]], relay: bool) -> None:
        now = utcnow()
        rows = [intake.update_row(app_id, uid, payload, relay, now) for uid, payload in items]
        with self.db.transaction() as conn:
            repo.store_updates(conn, rows)
            repo.store_offset(conn, app_id, max(uid for uid, _ in items))

    def apply_pending(self, app_id: int) -> int:
        """Applies stored updates in update_id order, each in its own transaction."""
        done = 0
        while not self._stopping.is_set():
            with self.db.read() as conn:
                view = repo.runner_view(conn, app_id)
                rows = repo.pending_updates(conn, app_id, APPLY_BATCH)
            if view is None or not rows:
                return done
            for row in rows:
                try:
                    with self.db.transaction() as conn:
                        apply.apply_update(
                            conn, app_id, int(view.organization_id), view, row, self.secrets()
                        )
                except Exception as exc:
                    tries = self._failed.get(int(row.id), 0) + 1
                    self._failed[int(row.id)] = tries
                    if isinstance(exc, DBAPIError) and tries < MAX_APPLY_TRIES:
                        raise  # the database (a lost connection, a race): try again later
                    # An update we cannot apply must not block every later one: it is
                    # marked applied (and still relayed) and the error logged.
                    log.exception("app %s: update %s could not be applied", app_id, row.update_id)
                    with self.db.transaction() as conn:
                        repo.mark_processed(conn, int(row.id), utcnow())
                self._failed.pop(int(row.id), None)
                done += 1
        return done

    # -- one bot -----------------------------------------------------------------------------

    async def _serve(self, app_id: int) -> None:
        """Reads and applies the bot's updates while this worker holds its lease; the relay
        runs beside it, so a slow customer endpoint never holds up getUpdates."""
        bot_session = aiohttp.ClientSession()
        done = asyncio.Event()
        relay = asyncio.create_task(self._relay_loop(app_id, done))
        renewed = time.monotonic()  # _tick has just taken the lease
        try:
            while not self._stopping.is_set() and not relay.done():
                # Renewed a few times per lease period, not every round (a write each).
                if time.monotonic() - renewed >= self.cfg.lease_s / 4:
                    if not await asyncio.to_thread(self._lease, app_id):
                        return  # another worker holds the bot now
                    renewed = time.monotonic()
                view = await asyncio.to_thread(self._read, repo.runner_view, app_id)
                if view is None:
                    return
                if view.mode == "off" and not await asyncio.to_thread(
                    self._read, repo.has_leftover, app_id
                ):
                    return  # switched off, and everything accepted is applied and relayed
                polled = False
                if view.mode == "polling":
                    polled = await self._poll(bot_session, app_id, view)
                await asyncio.to_thread(self.apply_pending, app_id)
                if not polled:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.cfg.idle_s)
        except Exception:
            log.exception("updates of app %s failed; retrying", app_id)
        finally:
            done.set()
            # A POST in flight is dropped and sent again by the next holder (at least once).
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
            await bot_session.close()
            await asyncio.to_thread(self._release_all, [app_id])

    async def _relay_loop(self, app_id: int, done: asyncio.Event) -> None:
        wcfg = get_webhook_settings()
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=4, **guard.connector_args(wcfg.allow_private)),
            timeout=aiohttp.ClientTimeout(total=self.cfg.relay_timeout_s),
            trust_env=False,
        )
        try:
            while not done.is_set() and not self._stopping.is_set():
                view = await asyncio.to_thread(self._read, repo.runner_view, app_id)
                if view is not None and view.relay_url:
                    await self._relay(session, app_id, view, done)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), self.cfg.idle_s)
        except Exception:
            log.exception("relay of app %s failed; retrying", app_id)
        finally:
            await session.close()

    async def _poll(self, session: aiohttp.ClientSession, app_id: int, view: Any) -> bool:
        """One getUpdates; True when it waited on Telegram (the long poll is the pause)."""
        offset = None if view.poll_offset is None else int(view.poll_offset) + 1
        # Below the lease, so it is renewed before another worker may take the bot.
        timeout = max(0.0, min(self.cfg.poll_timeout_s, self.cfg.lease_s / 3))
        try:
            items = await botapi.get_updates(
                session, self.settings.telegram_api_url, view.bot_token, offset, timeout
            )
        except botapi.BotApiError as exc:
            log.warning("app %s: %s", app_id, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1.0)
            return True
        if items:
            await asyncio.to_thread(self._store_polled, app_id, items, bool(view.relay_url))
        return timeout > 0 or bool(items)

    async def _relay(
        self, session: aiohttp.ClientSession, app_id: int, view: Any, done: asyncio.Event
    ) -> None:
        """Forwards applied updates in update_id order; the first failure stops the round
        (later updates wait for it), so the customer sees them in order."""
        rows = await asyncio.to_thread(self._read, repo.next_relay, app_id, RELAY_BATCH)
        wcfg = get_webhook_settings()
        for row in rows:
            if self._stopping.is_set() or done.is_set():
                return
            now = utcnow()
            if row.relay_next_at is not None and row.relay_next_at > now:
                return
            error = await relay_one(session, view.relay_url, view.relay_secret, row.payload, wcfg)
            attempts = int(row.relay_attempts) + (0 if error is None else 1)
            if error is None:
                state, next_at = "done", None
            elif attempts >= decide.RELAY_MAX_ATTEMPTS:
                state, next_at = "failed", None
            else:
                state = "pending"
                next_at = now + timedelta(
                    seconds=decide.relay_delay(attempts) * self.cfg.relay_backoff_scale
                )
            await asyncio.to_thread(
                self._relay_outcome, app_id, int(row.id), state, attempts, next_at, error
            )
            if state == "pending":
                return

    def _relay_outcome(
        self,
        app_id: int,
        row_id: int,
        state: str,
        attempts: int,
        next_at: Any,
        error: str | None,
    ) -> None:
        with self.db.transaction() as conn:
            repo.set_relay_state(conn, row_id, state, attempts, next_at)
            repo.record_relay(conn, app_id, 1 if state == "done" else 0, error, utcnow())


async def relay_one(
    session: aiohttp.ClientSession,
    url: str,
    secret: str | None,
    payload: str,
    wcfg: Any,
) -> str | None:
    """POSTs one update as Telegram sent it; None on a 2xx, else the error."""
    try:
        guard.check_url(url, wcfg.allow_private)
    except guard.UnsafeTarget as exc:
        return f"refused: {exc}"
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[RELAY_HEADER] = secret
    try:
        async with session.post(
            url, data=payload.encode(), headers=headers, allow_redirects=False
        ) as resp:
            await resp.read()
            return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except TimeoutError:
        return "timeout"
    except aiohttp.ClientError as exc:
        return type(exc).__name__


def start(
    db: Database, settings: Settings, worker_id: str, secrets: Callable[[], tuple[str, ...]]
) -> tuple[UpdatesRunner, asyncio.Task[None]]:
    runner = UpdatesRunner(db, settings, worker_id, secrets)
    return runner, asyncio.create_task(runner.run(), name="hushcast-updates")


async def stop(running: tuple[UpdatesRunner, asyncio.Task[None]]) -> None:
    runner, task = running
    runner.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await task

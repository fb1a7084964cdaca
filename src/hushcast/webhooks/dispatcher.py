"""The dispatcher: POSTs the outbox to the receivers. It runs in the worker process,
beside the senders, on its own HTTP session and its own database thread, so a slow
or failing receiver never slows sending.

- A dispatcher leases a webhook (``webhooks.lease_owner/lease_until``, claimed with
  SKIP LOCKED on PostgreSQL), so one dispatcher at a time serves it, in the order the
  events were recorded. Several workers never send one event twice, except in one
  window: the receiver accepted a POST, and the dispatcher died (or lost its database)
  before it deleted the events from the outbox. The next holder of the lease sends
  them again, with the same event ids.
- Up to ``batch_size`` events per POST. A failure (non-2xx, timeout, refused target)
  makes the whole webhook wait 1, 2, 4 ... minutes (at most an hour) and retry the
  same events first, so the order holds; events first tried more than
  ``retry_window_s`` (24 h) ago are then marked FAILED and the rest go on.
- Timed mutes that ended are looked for every ``expiry_scan_s`` (under the same
  lease) and become ``expired`` mute events.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.webhooks import outbox
from hushcast.webhooks import repository as repo
from hushcast.webhooks.config import WebhookSettings, get_webhook_settings
from hushcast.webhooks.events import body_bytes
from hushcast.webhooks.post import PostResult, new_session, post
from hushcast.webhooks.service import signing_secrets

log = logging.getLogger("hushcast.webhooks")

# Webhooks served at once by one dispatcher.
CLAIM_LIMIT = 16
# A dispatcher hands a busy webhook back after this long (others may take a turn).
SERVE_TURN_S = 5.0


def backoff_s(failures: int, cfg: WebhookSettings) -> float:
    """1, 2, 4, 8 ... times the base, at most the cap (failures counts this one). The
    exponent is bounded: a receiver down for weeks counts past 1,024 failures, and
    2**1024 times a float overflows (the dispatcher would stop serving that webhook)."""
    return float(min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** min(max(0, failures - 1), 60)))


class Dispatcher:
    def __init__(
        self, db: Database, cfg: WebhookSettings | None = None, owner: str | None = None
    ) -> None:
        self.db = db
        self.cfg = cfg or get_webhook_settings()
        self.owner = owner or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._stopping = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix="hushcast-webhooks"
        )
        self.session: aiohttp.ClientSession | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def _db(self, fn: Any, *args: Any, read: bool = False) -> Any:
        """``fn(conn, *args)`` in a transaction on a database thread (``read``: a read,
        which on SQLite does not take the write lock)."""

        def run() -> Any:
            with self.db.read() if read else self.db.transaction() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def run(self) -> None:
        self.session = new_session(self.cfg)
        try:
            while not self._stopping.is_set():
                try:
                    busy = await self.tick()
                except Exception:
                    log.exception("webhook dispatcher pass failed; retrying")
                    busy = False
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.cfg.poll_s)
        finally:
            await self.session.close()
            self._executor.shutdown(wait=False)

    async def tick(self) -> bool:
        """One pass: lease the webhooks with work and serve them side by side."""
        now = utcnow()
        claimed = await self._db(
            repo.claim_webhooks,
            self.owner,
            now,
            now + timedelta(seconds=self.cfg.lease_s),
            now - timedelta(seconds=self.cfg.expiry_scan_s),
            CLAIM_LIMIT,
        )
        if not claimed:
            return False
        await asyncio.gather(*(self._serve(w) for w in claimed))
        return True

    async def _serve(self, hook: Any) -> None:
        wid = int(hook.id)
        try:
            if "mute" in hook.events.split(","):
                await self._db(self._scan_expiry, hook)
            deadline = time.monotonic() + SERVE_TURN_S
            while not self._stopping.is_set() and time.monotonic() < deadline:
                if not await self._send_batch(wid):
                    break
        except Exception:
            log.exception("webhook %s: serving failed", wid)
        finally:
            with contextlib.suppress(Exception):
                await self._db(repo.release_lease, wid, self.owner)

    def _scan_expiry(self, conn: Any, hook: Any) -> None:
        upto = utcnow()
        ended = repo.ended_mutes(conn, int(hook.organization_id), hook.expiry_scanned_until, upto)
        if repo.set_scanned(conn, int(hook.id), self.owner, upto) and ended:
            outbox.record_expired(conn, int(hook.id), ended)

    def _next_batch(self, conn: Any, wid: int) -> tuple[Any, list[Any]]:
        now = utcnow()
        hook = repo.renew_lease(conn, wid, self.owner, now + timedelta(seconds=self.cfg.lease_s))
        if hook is None or not hook.active:
            return None, []
        if hook.next_attempt_at is not None and hook.next_attempt_at > now:
            return hook, []
        return hook, repo.due_batch(conn, wid, self.cfg.batch_size)

    async def _send_batch(self, wid: int) -> bool:
        """POSTs the next batch; True if another may follow at once."""
        hook, rows = await self._db(self._next_batch, wid)
        if not rows:
            return False
        # Delivery events are built now, in a read of their own (on SQLite a read does
        # not hold the write lock the worker's outcome writes wait for).
        built = await self._db(outbox.build_delivery_payloads, rows, read=True)
        body = body_bytes(hook.format, wid, [outbox.payload_of(r, built) for r in rows])
        assert self.session is not None
        result = await post(self.session, hook.url, body, signing_secrets(hook), self.cfg)
        ids = [int(r.id) for r in rows]
        return bool(await self._db(self._record, wid, hook, ids, result))

    def _record(self, conn: Any, wid: int, hook: Any, ids: list[int], result: PostResult) -> bool:
        now = utcnow()
        next_at: datetime | None = None
        if result.ok:
            kept = repo.record_sent(conn, wid, self.owner, ids)
        else:
            next_at = now + timedelta(seconds=backoff_s(int(hook.failures) + 1, self.cfg))
            give_up = now - timedelta(seconds=self.cfg.retry_window_s)
            failed = repo.record_failed_attempt(conn, wid, self.owner, ids, now, next_at, give_up)
            if failed:
                log.warning("webhook %s: %d events failed for good", wid, failed)
                next_at = None
            kept = True
        repo.insert_attempt(
            conn,
            {
                "webhook_id": wid,
                "at": now,
                "events": len(ids),
                "ok": result.ok,
                "status_code": result.status_code,
                "latency_ms": result.latency_ms,
                "error": result.error,
                "next_retry_at": next_at,
                "test": False,
            },
        )
        return kept and (result.ok or next_at is None)


def start(db: Database) -> tuple[Dispatcher, asyncio.Task[None]]:
    """Starts a dispatcher in the running loop (the worker calls this beside its senders)."""
    dispatcher = Dispatcher(db)
    return dispatcher, asyncio.create_task(dispatcher.run(), name="hushcast-webhooks")


async def stop(running: tuple[Dispatcher, asyncio.Task[None]]) -> None:
    dispatcher, task = running
    dispatcher.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await task

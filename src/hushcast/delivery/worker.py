"""The delivery worker: drains the durable queue in ``deliveries`` to Telegram.

One worker drives a bot at a time (a lease in ``app_leases``, renewed while it
works), so the bot's rate budget is never split or exceeded. Within a bot the
worker claims rows in batches (transactional first), paces sends at the bot's
limits, checks mute, token state and broadcast state right before each send,
and records exactly one final outcome per row.

Crash safety: a claimed row is SENDING in the database until its outcome is
recorded. A worker that dies loses its lease; the next holder puts the dead
worker's SENDING rows back in the queue, so nothing is lost. The price is the
duplicate window: a row that reached Telegram but whose outcome was not yet
recorded (in flight, or in the outcome buffer flushed every 100 ms) is sent
again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import gc
import heapq
import logging
import os
import secrets
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hushcast.broadcasts import planner
from hushcast.core.config import Settings
from hushcast.core.db import Database, create_database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import metrics
from hushcast.delivery import repository as repo
from hushcast.delivery import status as st
from hushcast.delivery.ratelimit import ChatLimiter, Pacer
from hushcast.messages.render import ContactData, MessageTemplate, TemplateError, compile_message
from hushcast.telegram.client import HttpTelegramClient, SendResult, TelegramClient
from hushcast.tracking.links import make_click_url

log = logging.getLogger("hushcast.worker")

OUTCOME_FLUSH_S = 0.1
MAX_GROUP = 100
MAX_CHECKS = 4  # pre-send checks in flight at once (each in a database thread)
GROUP_TICK_S = 0.01
IDLE_EXIT_S = 10.0
TX_CLAIM = 50


_DB_THREADS = 16
_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _db_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The worker's database threads: claims, checks, outcome writes and planning
    run side by side, more than asyncio's default executor (cores + 4) allows."""
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(
            _DB_THREADS, thread_name_prefix="hushcast-db"
        )
    return _executor


@dataclass
class Job:
    """A claimed row on its way to Telegram."""

    id: int
    kind: str
    token: str
    contact_id: int | None
    message_id: int
    json_param: str | None
    broadcast_id: int | None
    attempts: int
    contact: ContactData | None = None
    migrations: int = 0


@dataclass(order=True)
class _Deferred:
    ready_at: float
    job: Job = field(compare=False)


def _outcome(
    job: Job,
    status: str,
    now: datetime,
    *,
    error_type: str | None = None,
    error_name: str | None = None,
    description: str | None = None,
    message_id: int | None = None,
    available_at: datetime | None = None,
) -> dict[str, Any]:
    final = status in st.FINAL_STATUSES
    return {
        "b_id": job.id,
        "b_status": status,
        "b_error_type": error_type,
        "b_error_name": error_name,
        "b_description": description,
        "b_message_id": message_id,
        "b_finished_at": now if final else None,
        "b_attempts": job.attempts,
        "b_available_at": available_at or now,
        "b_token": job.token,
    }


class AppSender:
    """Sends one bot's queue while this worker holds the bot's lease."""

    def __init__(self, worker: Worker, app_id: int, paused_until: datetime | None) -> None:
        self.worker = worker
        self.db = worker.db
        self.settings = worker.settings
        self.client = worker.client
        self.app_id = app_id
        self.stopping = False
        self.buffer: deque[Job] = deque()
        self.deferred: list[_Deferred] = []
        self.inflight: set[asyncio.Task[None]] = set()
        self.checks: set[asyncio.Task[None]] = set()
        self.checking = 0
        self.woken = asyncio.Event()
        self.outcomes: list[dict[str, Any]] = []
        self.requeue_ids: list[int] = []
        self.deactivate: list[tuple[str, str]] = []
        self.templates: dict[int, MessageTemplate | TemplateError] = {}
        self.paused_until_mono = 0.0
        if paused_until is not None:
            remaining = (paused_until - utcnow()).total_seconds()
            if remaining > 0:
                self.paused_until_mono = time.monotonic() + remaining
        self.sent = 0
        self.rate_limited = 0
        self.chores: dict[str, asyncio.Task[None]] = {}
        self.planning = True
        self.claim_exhausted_at = 0.0

    # -- database calls, each its own short transaction in a thread ---------

    async def _db(self, fn: Any, *args: Any) -> Any:
        def run() -> Any:
            with self.db.transaction() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(_db_executor(), run)

    async def _db_read(self, fn: Any, *args: Any) -> Any:
        """A read-only call: on SQLite it neither takes nor waits for the write lock."""

        def run() -> Any:
            with self.db.read() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(_db_executor(), run)

    def _load_app(self, conn: Any) -> Any:
        return repo.load_app(conn, self.app_id)

    def _claim(self, conn: Any, limit: int, transactional_only: bool = False) -> list[Job]:
        now = utcnow()
        running = [] if transactional_only else repo.running_broadcasts(conn, self.app_id)
        rows = repo.claim_with_contacts(
            conn,
            self.app_id,
            running,
            limit,
            now,
            now + timedelta(seconds=self.settings.worker_lease_s),
        )
        return [
            Job(
                id=int(r.id),
                kind=r.kind,
                token=r.token,
                contact_id=r.contact_id,
                message_id=int(r.message_id),
                json_param=r.json_param,
                broadcast_id=r.broadcast_id,
                attempts=int(r.attempts),
                contact=contact,
            )
            for r, contact in rows
        ]

    def _plan(self, conn: Any) -> bool:
        """Plans one batch of the first due broadcast; True if more planning remains."""
        now = utcnow()
        due = planner.due_broadcasts(conn, self.app_id, now)
        if not due:
            return False
        planner.plan_batch(conn, int(due[0].id), now, self.settings.plan_batch_size)
        return True

    def _finish_broadcasts(self, conn: Any) -> None:
        now = utcnow()
        for bid in repo.running_broadcasts(conn, self.app_id):
            planner.finish_if_done(conn, bid, now)

    def _flush(
        self,
        conn: Any,
        outcomes: list[dict[str, Any]],
        requeue: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        repo.record_outcomes(conn, outcomes)
        repo.requeue(conn, requeue)
        now = utcnow()
        for token, reason in deactivate:
            repo.deactivate_tokens(conn, self.app_id, [token], reason, now)

    def _renew(self, conn: Any) -> tuple[bool, bool, datetime | None]:
        now = utcnow()
        return repo.acquire_lease(
            conn,
            self.app_id,
            self.worker.worker_id,
            now,
            now + timedelta(seconds=self.settings.worker_lease_s),
        )

    # -- the loop -----------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("sender for app %s failed", self.app_id)
        finally:
            await self._shutdown()

    async def _run(self) -> None:
        app = await self._db(self._load_app)
        if app is None:
            return
        self.pacer = Pacer(1.0)
        self._apply_settings(app)
        rate = 1.0 / self.pacer.interval
        sem_limit = self.settings.worker_concurrency
        # About 0.2 s of sends per claim (at least 50, at most WORKER_BATCH_SIZE): at
        # full speed 200-row claims were what the sends waited for, and a claim much
        # larger holds the event loop's GIL long enough to stall the pacing.
        claim_size = max(50, min(self.settings.worker_batch_size, int(rate * 0.2)))

        last_flush = time.monotonic()
        last_renew = time.monotonic()
        last_plan_check = 0.0
        last_finish_check = 0.0
        idle_since: float | None = None
        self.planning = True
        self.claim_exhausted_at = 0.0
        last_tx_claim = 0.0

        while not self.stopping:
            now = time.monotonic()
            if now - last_renew > self.settings.worker_lease_s / 3:
                held, _, _ = await self._db(self._renew)
                last_renew = now
                if not held:
                    log.warning("lost the lease of app %s", self.app_id)
                    break
                # Pick up changed settings (rates, paid mode, a new bot token).
                app = await self._db(self._load_app)
                if app is None:
                    break
                self._apply_settings(app)
            # Database chores run beside the sends, one of each kind at a time, so
            # a slow write never stalls the pacing of the next sends.
            if now - last_flush >= OUTCOME_FLUSH_S and self._chore_free("flush"):
                self._chore("flush", self._flush_now())
                last_flush = now
            if (self.planning or now - last_plan_check > 1.0) and self._chore_free("plan"):
                self._chore("plan", self._plan_chore())
                last_plan_check = now
            if self._chore_free("claim"):
                if (
                    len(self.buffer) < claim_size // 2
                    and now - self.claim_exhausted_at > self.settings.worker_poll_s
                ):
                    self._chore(
                        "claim", self._claim_chore(claim_size - len(self.buffer), claim_size)
                    )
                    last_tx_claim = now
                elif now - last_tx_claim > self.settings.worker_poll_s:
                    # Transactional messages go before the broadcast rows already
                    # buffered, so look for them even while the buffer is full.
                    self._chore("claim", self._claim_chore(TX_CLAIM, 0, True))
                    last_tx_claim = now
            self._release_deferred(now)

            if not self.buffer:
                if (
                    not self.inflight
                    and not self.checks
                    and not self.planning
                    and not self.deferred
                    and not self.chores
                ):
                    if now - last_finish_check > 0.5:
                        await self._flush_now()
                        await self._db(self._finish_broadcasts)
                        last_finish_check = now
                    idle_since = idle_since or now
                    if now - idle_since > IDLE_EXIT_S:
                        break
                # An idle sender sleeps until its next poll or until woken (wake()).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.woken.wait(), self._sleep_hint(now))
                self.woken.clear()
                continue
            idle_since = None

            if now < self.paused_until_mono:
                await asyncio.sleep(min(self.paused_until_mono - now, 0.5))
                continue
            capacity = sem_limit - len(self.inflight) - self.checking
            if capacity <= 0 or len(self.checks) >= MAX_CHECKS:
                await asyncio.wait(
                    self.inflight | self.checks, timeout=0.05, return_when=asyncio.FIRST_COMPLETED
                )
                continue
            wanted = min(len(self.buffer), MAX_GROUP, capacity)
            n = self.pacer.take(now, wanted)
            if n == 0:
                await asyncio.sleep(max(GROUP_TICK_S, min(self.pacer.wait_time(now), 0.05)))
                continue
            group: list[Job] = []
            while self.buffer and len(group) < n:
                job = self.buffer.popleft()
                ready = self.chats.ready_at(job.token, now)
                if ready > now:
                    heapq.heappush(self.deferred, _Deferred(ready, job))
                    continue
                # Reserve the chat's slot now, so a second row for the same chat
                # in this group waits its turn.
                self.chats.record(job.token, now)
                group.append(job)
            # The check runs beside the loop: the next group's slots are taken on
            # time while this one waits for the database, and this group is sent
            # the moment its check returns.
            self._spawn(self.checks, self._check_and_send(group, n))
            if n < wanted:
                # Paced: let a few slots accumulate, so each check covers a group
                # rather than one row (10 ms is 10 sends at 1,000/s).
                await asyncio.sleep(GROUP_TICK_S)

    def _spawn(self, tasks: set[asyncio.Task[None]], coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _check_and_send(self, group: list[Job], taken: int) -> None:
        """Mute/token/broadcast check of one group, then its sends, at once."""
        self.checking += len(group)
        try:
            sendable = await self._check(group)
        except Exception:
            # The database is unreachable: the rows stay claimed and go back to
            # the front of the buffer; the bot pauses briefly before retrying.
            log.exception("app %s: pre-send check failed; will retry", self.app_id)
            self.pacer.give_back(taken)
            self.buffer.extendleft(reversed(group))
            self.paused_until_mono = max(self.paused_until_mono, time.monotonic() + 0.5)
            return
        finally:
            self.checking -= len(group)
        sent_at = time.monotonic()
        if sent_at < self.paused_until_mono or self.stopping:
            # A 429 arrived while this group was being checked: it waits with the rest.
            self.pacer.give_back(taken)
            self.buffer.extendleft(job for job, _ in reversed(sendable))
            return
        # The window counts the real dispatch time: Telegram counts what arrives.
        self.pacer.dispatched(taken, len(sendable), sent_at)
        for job, rendered in sendable:
            self.chats.record(job.token, sent_at, replace_last=True)
            self._spawn(self.inflight, self._send(job, rendered, sent_at))

    def _chore_free(self, name: str) -> bool:
        task = self.chores.get(name)
        return task is None or task.done()

    def _chore(self, name: str, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.chores[name] = task
        task.add_done_callback(functools.partial(self._chore_done, name))

    def _chore_done(self, name: str, task: asyncio.Task[Any]) -> None:
        if self.chores.get(name) is task:
            del self.chores[name]
        if not task.cancelled() and task.exception() is not None:
            log.error("app %s: %s failed: %r", self.app_id, name, task.exception())

    async def _plan_chore(self) -> None:
        """Plans batch after batch (each its own transaction) until nothing is due.

        Back to back: waiting for the send loop's next pass between batches added
        40-70 ms per batch. Claims still get in between, as each batch commits.
        """
        try:
            while not self.stopping:
                self.planning = await self._db(self._plan)
                self.claim_exhausted_at = 0.0  # rows were just queued: claim at once
                self.woken.set()
                if not self.planning:
                    break
        except Exception:
            log.exception("app %s: planning failed; will retry", self.app_id)
            await asyncio.sleep(0.5)

    async def _claim_chore(self, limit: int, claim_size: int, tx_only: bool = False) -> None:
        try:
            jobs = await self._db(self._claim, limit, tx_only)
        except Exception:
            log.exception("app %s: claim failed; will retry", self.app_id)
            await asyncio.sleep(0.5)
            return
        self._enqueue(jobs)
        if not tx_only and len(jobs) < claim_size // 2:
            self.claim_exhausted_at = time.monotonic()

    def _apply_settings(self, app: Any) -> None:
        self.bot_token: str = app.bot_token
        self.bot_label = str(app.bot_username)
        self.paid = bool(app.paid_broadcast)
        rate = app.paid_messages_per_second if self.paid else app.messages_per_second
        self.pacer.set_rate(rate, self.settings.rate_safety)
        safety = self.settings.rate_safety
        private_rate = app.private_chat_per_second * safety
        group_rate = app.group_per_minute * safety
        if not hasattr(self, "chats"):
            self.chats = ChatLimiter(private_rate, group_rate)
        else:
            self.chats.configure(private_rate, group_rate)

    def _enqueue(self, jobs: list[Job]) -> None:
        """Transactional jobs to the front of the buffer (in order), broadcasts to the back."""
        urgent = [j for j in jobs if j.broadcast_id is None]
        self.buffer.extendleft(reversed(urgent))
        self.buffer.extend(j for j in jobs if j.broadcast_id is not None)

    def _sleep_hint(self, now: float) -> float:
        if self.chores.get("claim") is not None:
            return 0.005  # rows are on their way
        if self.deferred:
            return max(0.001, min(self.deferred[0].ready_at - now, self.settings.worker_poll_s))
        return self.settings.worker_poll_s if not self.inflight else 0.01

    def _release_deferred(self, now: float) -> None:
        while self.deferred and self.deferred[0].ready_at <= now:
            self.buffer.appendleft(heapq.heappop(self.deferred).job)

    async def _check(self, group: list[Job]) -> list[tuple[Job, Any]]:
        """Mute, token and broadcast checks right before sending; then personalisation."""
        if not group:
            return []
        now = utcnow()
        broadcast_ids = [j.id for j in group if j.broadcast_id is not None]
        states: dict[int, Any] = {}
        if broadcast_ids:
            # A read: it sees every committed mute, and on SQLite it does not queue
            # behind the worker's own claims and outcome writes.
            states = await self._db_read(repo.pre_send_state, self.app_id, broadcast_ids, now)
        sendable: list[tuple[Job, Any]] = []
        for job in group:
            if job.broadcast_id is not None:
                state = states.get(job.id)
                if state is None:
                    continue  # row vanished (app deleted)
                if state.broadcast_status == st.B_CANCELLED:
                    self._finish(job, _outcome(job, st.CANCELLED, now))
                    continue
                if state.broadcast_status != st.B_RUNNING:
                    self.requeue_ids.append(job.id)
                    continue
                if state.muted_until is not None:
                    self._finish(
                        job,
                        _outcome(
                            job,
                            st.UNAVAILABLE,
                            now,
                            error_type=st.OTHER_ERRORS,
                            error_name=st.CHANNEL_WAS_MUTED,
                            description="The chat was muted when the message was due",
                        ),
                    )
                    continue
                if state.active is not None and not state.active:
                    self._finish(
                        job,
                        _outcome(
                            job,
                            st.UNAVAILABLE,
                            now,
                            error_type=st.OTHER_ERRORS,
                            error_name=st.TOKEN_INACTIVE,
                            description="The token was deactivated",
                        ),
                    )
                    continue
            rendered = await self._render(job)
            if isinstance(rendered, TemplateError):
                self._finish(
                    job,
                    _outcome(
                        job,
                        st.ERROR,
                        now,
                        error_type=st.ERRORS,
                        error_name=st.TEMPLATE_ERROR,
                        description=str(rendered),
                    ),
                )
                continue
            sendable.append((job, self._track_clicks(job, rendered)))
        return sendable

    def _track_clicks(self, job: Job, rendered: Any) -> Any:
        """Rewrites http(s) button links to our signed redirect for this recipient."""
        if not rendered.buttons or not self.settings.click_tracking:
            return rendered
        secret = self.worker.secret or ""
        buttons = [
            {**b, "url": make_click_url(self.settings.public_url, secret, job.id, b["url"])}
            if b["url"].lower().startswith(("http://", "https://"))
            else b
            for b in rendered.buttons
        ]
        return dataclasses.replace(rendered, buttons=buttons)

    async def _render(self, job: Job) -> Any:
        template = self.templates.get(job.message_id)
        if template is None:
            row = await self._db(repo.load_message, job.message_id)
            if row is None:
                template = TemplateError("the message was deleted")
            else:
                try:
                    template = compile_message(row)
                except TemplateError as exc:
                    template = exc
            self.templates[job.message_id] = template
        if isinstance(template, TemplateError):
            return template
        try:
            return await template.render_async(job.contact, job.json_param)
        except TemplateError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - a render fails only its recipient
            return TemplateError(f"{type(exc).__name__}: {exc}"[:500])

    def _finish(self, job: Job, outcome: dict[str, Any]) -> None:
        self.outcomes.append(outcome)
        metrics.MESSAGES.labels(
            self.bot_label, outcome["b_error_name"] or outcome["b_status"]
        ).inc()

    async def _send(self, job: Job, rendered: Any, stamp: float) -> None:
        start = time.monotonic()
        if start - stamp > 0.0005:
            self.pacer.started(stamp, start)
        try:
            if rendered.image_source:
                result: SendResult = await self.client.send_photo(
                    self.bot_token,
                    job.token,
                    rendered.image_source,
                    rendered.text,
                    buttons=rendered.buttons or None,
                    allow_paid_broadcast=self.paid,
                )
            else:
                result = await self.client.send_message(
                    self.bot_token,
                    job.token,
                    rendered.text,
                    buttons=rendered.buttons or None,
                    allow_paid_broadcast=self.paid,
                )
        except Exception as exc:  # a bug or an unexpected transport failure
            result = SendResult(ok=False, transport_error=type(exc).__name__)
        metrics.SEND_LATENCY.observe(time.monotonic() - start)
        self._handle_result(job, result)

    def _handle_result(self, job: Job, result: SendResult) -> None:
        now = utcnow()
        if result.ok:
            self.sent += 1
            self._finish(job, _outcome(job, st.DELIVERED, now, message_id=result.message_id))
            return
        if result.is_rate_limited:
            # Honour retry_after for the whole bot; the row goes back to the front.
            self.rate_limited += 1
            metrics.TELEGRAM_429.labels(self.bot_label).inc()
            wait = float(result.retry_after or 1)
            resume = time.monotonic() + wait
            self.paused_until_mono = max(self.paused_until_mono, resume)
            self.pacer.pause_until(resume)
            self.buffer.appendleft(job)
            task = asyncio.ensure_future(
                self._db(repo.set_paused_until, self.app_id, now + timedelta(seconds=wait))
            )
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
            return
        if result.is_migrated and result.migrate_to_chat_id is not None and job.migrations < 2:
            new = str(result.migrate_to_chat_id)
            old = job.token
            job.token = new
            job.migrations += 1
            self.buffer.appendleft(job)
            task = asyncio.ensure_future(self._db(repo.migrate_token, self.app_id, old, new))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
            return
        if result.is_retryable:
            job.attempts += 1
            if job.attempts >= self.settings.worker_max_attempts:
                self._finish(
                    job,
                    _outcome(
                        job,
                        st.ERROR,
                        now,
                        error_type=st.ERRORS,
                        error_name=st.SEND_FAILED,
                        description=result.description or result.transport_error or "no answer",
                    ),
                )
            else:
                backoff = min(60.0, 0.5 * (2 ** (job.attempts - 1)))
                self.outcomes.append(
                    _outcome(job, st.IN_QUEUE, now, available_at=now + timedelta(seconds=backoff))
                )
            return
        description = result.description or f"error {result.error_code}"
        if result.is_chat_gone:
            self.deactivate.append((job.token, description))
        self._finish(
            job,
            _outcome(
                job,
                st.ERROR,
                now,
                error_type=st.ERRORS,
                error_name=st.BOT_SEND_ERROR,
                description=description,
            ),
        )

    async def _flush_now(self) -> None:
        if not (self.outcomes or self.requeue_ids or self.deactivate):
            return
        outcomes, self.outcomes = self.outcomes, []
        requeue, self.requeue_ids = self.requeue_ids, []
        deactivate, self.deactivate = self.deactivate, []
        try:
            await self._db(self._flush, outcomes, requeue, deactivate)
        except Exception:
            # Keep them for the next flush; the database may be restarting.
            log.exception("could not record outcomes; will retry")
            self.outcomes[:0] = outcomes
            self.requeue_ids[:0] = requeue
            self.deactivate[:0] = deactivate
            await asyncio.sleep(0.5)

    async def _shutdown(self) -> None:
        if self.chores:
            # A claim finishing now still lands in the buffer, and is requeued below.
            await asyncio.gather(*list(self.chores.values()), return_exceptions=True)
        if self.checks:
            # Checked groups are sent (and land in inflight); failed ones go back.
            await asyncio.gather(*list(self.checks), return_exceptions=True)
        if self.inflight:
            await asyncio.gather(*list(self.inflight), return_exceptions=True)
        for d in self.deferred:
            self.buffer.append(d.job)
        self.deferred = []
        self.requeue_ids.extend(j.id for j in self.buffer)
        self.buffer.clear()
        for _ in range(20):
            try:
                await self._flush_now()
                if not self.outcomes and not self.requeue_ids:
                    break
            except Exception:
                await asyncio.sleep(0.5)
        with contextlib.suppress(Exception):
            await self._db(repo.release_lease, self.app_id, self.worker.worker_id)

    def wake(self) -> None:
        """New work may be committed for this bot: plan and claim on the next pass,
        instead of at the next plan check or after the claim back-off."""
        self.planning = True
        self.claim_exhausted_at = 0.0
        self.woken.set()


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
    ) -> None:
        self.db = db
        self.secret = secret or settings.secret_key
        self.settings = settings
        self._own_client = telegram is None
        self.client: Any = telegram or HttpTelegramClient(
            settings.telegram_api_url, timeout=settings.telegram_timeout_s
        )
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

    def _load_secret(self) -> str:
        from hushcast.orgs.service import get_or_create_secret

        with self.db.transaction() as conn:
            return get_or_create_secret(conn)

    def _discover(self) -> list[int]:
        with self.db.read() as conn:
            return repo.apps_with_work(conn, utcnow())

    def _acquire(self, app_id: int) -> tuple[bool, datetime | None]:
        with self.db.transaction() as conn:
            now = utcnow()
            until = now + timedelta(seconds=self.settings.worker_lease_s)
            held, taken_over, paused = repo.acquire_lease(conn, app_id, self.worker_id, now, until)
            if held:
                # Whatever is SENDING for this bot now was left by a dead or
                # stopped holder (or by this worker's earlier sender).
                n = repo.requeue_abandoned(conn, app_id)
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
            sender = AppSender(self, app_id, paused)
            task = asyncio.create_task(sender.run())
            task.add_done_callback(functools.partial(self._sender_done, app_id))
            self.senders[app_id] = (sender, task)


async def run_worker_process(settings: Settings) -> None:
    """``hushcast worker``: runs until SIGTERM or SIGINT, then stops gracefully."""
    import signal

    from hushcast.core.migrate import upgrade

    db = create_database(settings.database_url, pool_size=settings.db_pool_size)
    upgrade(db)
    # Start-up objects (modules, SQLAlchemy metadata, ...) are never garbage: out of
    # the cyclic GC, whose full collections over them paused the event loop for
    # 60-80 ms, which bunched sends and lost pacing slots.
    gc.freeze()
    # The database threads hand the GIL back to the event loop after 1 ms instead of
    # 5: the loop's dispatch times are what Telegram's flood window counts. (Only in
    # the worker's own process: set for the test suite's process, with its dozen
    # threads, it slowed a SQLite contention test's worker past its deadline.)
    sys.setswitchinterval(0.001)
    worker = Worker(db, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        db.dispose()

"""One bot's sender: the pacing loop, check-and-send, and applying decisions.

The sender owns no rule: the pre-send check and Telegram's answers become decisions in
``delivery/decide.py``; a group's check and personalisation are
``delivery/group_check.py``, the claimed rows and the per-chat limits
``delivery/send_queue.py``, the background claims, planning and flushes
``delivery/chores.py``, outcomes are written by ``delivery/outbox.py``, and every read
and write goes through the ``DeliveryStore`` it is given (``delivery/store.py``). What
stays here is when things happen: slots from the pacer, the check's freshness at the
dispatch, requests in flight, and what each decision does to the queue and the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hushcast.core.config import Settings
from hushcast.core.timeutil import utcnow
from hushcast.delivery import decide, metrics
from hushcast.delivery import status as st
from hushcast.delivery.caps import InFlightCaps
from hushcast.delivery.chores import Chores
from hushcast.delivery.decide import Action, Decision
from hushcast.delivery.group_check import Checked, GroupChecker
from hushcast.delivery.job import Job, outcome
from hushcast.delivery.outbox import Outbox, RepeatedErrors
from hushcast.delivery.personalize import Personalizer
from hushcast.delivery.ratelimit import ChatLimiter, Pacer
from hushcast.delivery.send_queue import SendQueue
from hushcast.delivery.slots import SendSlots
from hushcast.delivery.store import BotSettings, DeliveryStore
from hushcast.messages.render import RenderedMessage
from hushcast.telegram.client import SendResult, TelegramClient

log = logging.getLogger("hushcast.worker")

OUTCOME_FLUSH_S = 0.1
MAX_GROUP = 100
MAX_CHECKS = 4  # pre-send checks in flight at once (each in a database thread)
GROUP_TICK_S = 0.01
IDLE_EXIT_S = 10.0
TX_CLAIM = 50
CHECK_FAILED_PAUSE_S = 0.5
# A group whose check keeps going stale (each pre-send query itself slower than the
# window) is sent after this many checks: its last check is then the last thing before
# its requests, and checking once more could not be any fresher.
MAX_RECHECKS = 3


class AppSender:
    """Sends one bot's queue while this worker holds the bot's lease."""

    def __init__(
        self,
        store: DeliveryStore,
        client: TelegramClient,
        settings: Settings,
        app_id: int,
        worker_id: str,
        paused_until: datetime | None = None,
        secret: Callable[[], str] = lambda: "",
        errors: RepeatedErrors | None = None,
        slots: SendSlots | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.app_id = app_id
        self.worker_id = worker_id
        self.stopping = False
        self.chats = ChatLimiter(1.0, 20.0)
        self.queue = SendQueue(self.chats)
        self.inflight: set[asyncio.Task[None]] = set()
        self.checks: set[asyncio.Task[None]] = set()
        # Shared by every sender of the worker (supervisor.py); one of its own otherwise.
        self.slots = slots or SendSlots(settings.worker_concurrency)
        self.rechecks = 0
        self.woken = asyncio.Event()
        self.errors = errors or RepeatedErrors()
        # Sends let through under a frequency cap, until their outcome is written.
        self.caps = InFlightCaps()
        self.outbox = Outbox(store, app_id, self.errors, on_recorded=self.caps.recorded)
        self.checker = GroupChecker(
            store,
            app_id,
            self.caps,
            Personalizer(
                store.load_message,
                load_translations=store.load_translations,
                click_tracking=settings.click_tracking,
                public_url=settings.public_url,
                secret=secret,
            ),
        )
        self.paused_until_mono = 0.0
        if paused_until is not None:
            remaining = (paused_until - utcnow()).total_seconds()
            if remaining > 0:
                self.paused_until_mono = time.monotonic() + remaining
        self.sent = 0
        self.rate_limited = 0
        self.chores = Chores(self.errors, f"app {app_id}")
        self.planning = True
        self.claim_exhausted_at = 0.0
        self.pacer = Pacer(1.0)
        self.bot_token = ""
        self.bot_label = str(app_id)
        self.paid = False

    # -- the loop -----------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("sender for app %s failed", self.app_id)
        finally:
            await self._shutdown()

    async def _run(self) -> None:
        bot = await self.store.load_bot(self.app_id)
        if bot is None:
            return
        self._apply_settings(bot)
        rate = 1.0 / self.pacer.interval
        # About 0.2 s of sends per claim (at least 50, at most WORKER_BATCH_SIZE): at
        # full speed 200-row claims were what the sends waited for, and a claim much
        # larger holds the event loop's GIL long enough to stall the pacing.
        claim_size = max(50, min(self.settings.worker_batch_size, int(rate * 0.2)))
        # Sends whose outcome is not written yet are sent again after a crash: when a
        # slow database lets them pile up past half a second of sends, the bot
        # waits for the write instead of running further ahead of its records. (A
        # quarter of a second was too tight: outcomes are flushed every 100 ms and a
        # write takes up to 100 ms more on a busy machine, and the realistic paid
        # benchmark fell from 0.88 to 0.59 of the limit.)
        max_unrecorded = max(50, int(rate * 0.5))

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
                held = await self.store.renew_lease(
                    self.app_id, self.worker_id, self.settings.worker_lease_s
                )
                last_renew = now
                if not held:
                    log.warning("lost the lease of app %s", self.app_id)
                    break
                # Pick up changed settings (rates, paid mode, a new bot token).
                bot = await self.store.load_bot(self.app_id)
                if bot is None:
                    break
                self._apply_settings(bot)
            # Database chores run beside the sends, one of each kind at a time, so
            # a slow write never stalls the pacing of the next sends.
            chores = self.chores
            if now - last_flush >= OUTCOME_FLUSH_S and not chores.is_running("flush"):
                chores.start("flush", self._flush_chore())
                last_flush = now
            if (self.planning or now - last_plan_check > 1.0) and not chores.is_running("plan"):
                chores.start("plan", self._plan_chore())
                last_plan_check = now
            if not chores.is_running("claim"):
                if (
                    len(self.queue) < claim_size // 2
                    and now - self.claim_exhausted_at > self.settings.worker_poll_s
                ):
                    chores.start(
                        "claim", self._claim_chore(claim_size - len(self.queue), claim_size)
                    )
                    last_tx_claim = now
                elif now - last_tx_claim > self.settings.worker_poll_s:
                    # Transactional messages go before the broadcast rows already
                    # buffered, so look for them even while the buffer is full.
                    chores.start("claim", self._claim_chore(TX_CLAIM, 0, True))
                    last_tx_claim = now
            self.queue.release_ready(now)

            if not self.queue:
                if (
                    not self.inflight
                    and not self.checks
                    and not self.planning
                    and not self.queue.waiting
                    and not chores
                ):
                    if now - last_finish_check > 0.5:
                        await self.outbox.flush()
                        with contextlib.suppress(Exception):
                            await self.store.finish_broadcasts(self.app_id)
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
            if self.outbox.unrecorded >= max_unrecorded:
                if not chores.is_running("flush"):
                    chores.start("flush", self._flush_chore())
                    last_flush = now
                await asyncio.sleep(GROUP_TICK_S)
                continue
            if len(self.checks) >= MAX_CHECKS:
                await asyncio.wait(self.checks, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
                continue
            # Slots are taken before the check (see delivery/slots.py): a send that
            # passed its check then waits for nothing before its request leaves.
            if self.slots.free <= 0:
                await self.slots.wait_free(0.05)
                continue
            wanted = min(len(self.queue), MAX_GROUP, self.slots.free)
            n = self.pacer.take(now, wanted)
            if n == 0:
                await asyncio.sleep(max(GROUP_TICK_S, min(self.pacer.wait_time(now), 0.05)))
                continue
            self.slots.take(n)
            group = self.queue.take(n, now)
            self.slots.give(n - len(group))
            # The check runs beside the loop: the next group's slots are taken on
            # time while this one waits for the database, and this group is sent
            # the moment its check returns.
            self._spawn(self.checks, self._check_and_send(group, n, now))
            if n < wanted:
                # Paced: let a few slots accumulate, so each check covers a group
                # rather than one row (10 ms is 10 sends at 1,000/s).
                await asyncio.sleep(GROUP_TICK_S)

    def _spawn(self, tasks: set[asyncio.Task[None]], coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _check_and_send(self, group: list[Job], taken: int, taken_at: float) -> None:
        """Mute/token/broadcast check of one group, then its sends.

        The group holds one slot per row (taken by the loop at ``taken_at``); a row that
        is not sent gives its slot back here, a sent one when Telegram has answered.
        """
        owned = len(group)
        # Rows neither sent nor settled: those go back to the queue if a check fails.
        pending = group
        try:
            checked: list[Checked] = []
            try:
                checked, answered = await self.checker.check(group, self._apply)
                pending = [c.job for c in checked]
                # A check is trusted for worker_check_window_s after its query answered:
                # if rendering (a slow template) or a busy loop made the group later than
                # that, it is checked again, so a mute committed meanwhile still stops it.
                # Renders are kept unless the message changed. (Counted from the answer,
                # not from the query's start: a slow database would otherwise have every
                # group checked again, adding load that makes every query slower still.)
                window = self.settings.worker_check_window_s
                rechecks = 0
                while checked:
                    # The pacer's window, exact at the dispatch (Pacer.room): the sends
                    # that fit go now, the rest as places free, each place refilled as
                    # soon as it frees (waiting for the whole group to fit left about
                    # 13 ms of every place idle: 0.968 of the limit instead of 0.980).
                    # No await between room() and the dispatch of what it allowed.
                    now = time.monotonic()
                    room = self.pacer.room(now)
                    if room <= 0:
                        await asyncio.sleep(self.pacer.admit(now, 1))
                        continue
                    if now - answered > window and rechecks < MAX_RECHECKS:
                        rechecks += 1
                        self.rechecks += 1
                        metrics.RECHECKS.inc()
                        checked, answered = await self.checker.check(pending, self._apply, checked)
                        pending = [c.job for c in checked]
                        continue
                    if room >= len(checked):
                        break
                    part, checked = checked[:room], checked[room:]
                    pending = [c.job for c in checked]
                    went = self._dispatch(part, len(part), taken_at)
                    taken -= len(part)
                    owned -= went
                    if went < len(part):
                        break  # paused or stopping: the rest goes back below
            except Exception as exc:
                # The database is unreachable (nothing a row does gets here: see
                # _check): the rows stay claimed and go back to the front of the
                # queue; the bot pauses briefly before retrying.
                self.errors.report(
                    f"app {self.app_id}: pre-send check", "pre-send check failed", exc
                )
                self.pacer.give_back(taken)
                for job in pending:
                    self.caps.discard(job.id)
                # Not the rows the first check settled (their outcome is in the outbox):
                # only those still waiting for their send go back.
                self.queue.put_back(pending)
                self.paused_until_mono = max(
                    self.paused_until_mono, time.monotonic() + CHECK_FAILED_PAUSE_S
                )
                return
            self.errors.resolved(f"app {self.app_id}: pre-send check")
            owned -= self._dispatch(checked, taken, taken_at)
        finally:
            self.slots.give(owned)

    def _dispatch(self, checked: list[Checked], taken: int, taken_at: float) -> int:
        """Sends the checked rows now, on ``taken`` reserved slots (those not used come
        back); how many went. During a 429 pause or a shutdown none go: they return to
        the queue."""
        sent_at = time.monotonic()
        if sent_at < self.paused_until_mono or self.stopping:
            # A 429 arrived while this group was being checked: it waits with the rest.
            self.pacer.give_back(taken)
            for c in checked:
                self.caps.discard(c.job.id)
            self.queue.put_back(c.job for c in checked)
            return 0
        # The window counts the real dispatch time: Telegram counts what arrives.
        self.pacer.dispatched(taken, len(checked), sent_at, taken_at)
        for c in checked:
            self.chats.record(c.job.token, sent_at, replace_last=True)
            # The send task owns its slot from here (given back in _send).
            self._spawn(self.inflight, self._send(c.job, c.rendered, sent_at))
        return len(checked)

    async def _flush_chore(self) -> None:
        if not await self.outbox.flush():
            await asyncio.sleep(CHECK_FAILED_PAUSE_S)

    async def _plan_chore(self) -> None:
        """Plans batch after batch (each its own transaction) until nothing is due.

        Back to back: waiting for the send loop's next pass between batches added
        40-70 ms per batch. Claims still get in between, as each batch commits.
        """
        try:
            while not self.stopping:
                self.planning = await self.store.plan(self.app_id, self.settings.plan_batch_size)
                self.claim_exhausted_at = 0.0  # rows were just queued: claim at once
                self.woken.set()
                if not self.planning:
                    break
            self.errors.resolved(f"app {self.app_id}: planning")
        except Exception as exc:
            self.errors.report(f"app {self.app_id}: planning", "planning failed", exc)
            await asyncio.sleep(CHECK_FAILED_PAUSE_S)

    async def _claim_chore(self, limit: int, claim_size: int, tx_only: bool = False) -> None:
        try:
            jobs = await self.store.claim(self.app_id, limit, self.settings.worker_lease_s, tx_only)
        except Exception as exc:
            self.errors.report(f"app {self.app_id}: claim", "claim failed", exc)
            await asyncio.sleep(CHECK_FAILED_PAUSE_S)
            return
        self.errors.resolved(f"app {self.app_id}: claim")
        self.queue.add_claimed(jobs)
        if not tx_only and len(jobs) < claim_size // 2:
            self.claim_exhausted_at = time.monotonic()

    def _apply_settings(self, bot: BotSettings) -> None:
        self.bot_token = bot.bot_token
        self.bot_label = bot.username
        self.paid = bot.paid
        self.pacer.set_rate(bot.rate, self.settings.rate_safety)
        safety = self.settings.rate_safety
        self.chats.configure(bot.private_chat_per_second * safety, bot.group_per_minute * safety)

    def _sleep_hint(self, now: float) -> float:
        if self.chores.is_running("claim"):
            return 0.005  # rows are on their way
        ready_at = self.queue.next_ready_at()
        if ready_at is not None:
            return max(0.001, min(ready_at - now, self.settings.worker_poll_s))
        return self.settings.worker_poll_s if not self.inflight else 0.01

    async def _send(self, job: Job, rendered: RenderedMessage, stamp: float) -> None:
        try:
            await self._send_one(job, rendered, stamp)
        finally:
            self.slots.give()

    async def _send_one(self, job: Job, rendered: RenderedMessage, stamp: float) -> None:
        start = time.monotonic()
        counted = stamp  # the send's stamp in the pacer's window
        if start - stamp > 0.0005:
            self.pacer.started(stamp, start)
            counted = start
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
        end = time.monotonic()
        metrics.SEND_LATENCY.observe(end - start)
        if result.ok:
            # How long the answer took says when the request probably arrived.
            self.pacer.answered(counted, end - start, end)
        self._apply(job, decide.after_send(job, result, self.settings.worker_max_attempts))

    # -- applying decisions --------------------------------------------------

    def _apply(self, job: Job, d: Decision) -> None:
        now = utcnow()
        if not (d.action is Action.FINISH and d.status == st.DELIVERED):
            self.caps.discard(job.id)  # not delivered: a cap no longer counts it
        if d.action is Action.FINISH:
            if d.attempts is not None:
                job.attempts = d.attempts
            if d.status == st.DELIVERED:
                self.sent += 1
            if d.deactivate:
                self.outbox.deactivate.append((job.token, d.description or "chat gone"))
            self._finish(
                job,
                outcome(
                    job,
                    d.status or st.ERROR,
                    now,
                    error_type=d.error_type,
                    error_name=d.error_name,
                    description=d.description,
                    message_id=d.message_id,
                    token=job.stored_token if d.keep_stored_token else None,
                ),
            )
        elif d.action is Action.REQUEUE:
            self.outbox.requeue_ids.append(job.id)
        elif d.action is Action.PARK:
            # HELD / WAITING: out of the claimable queue until ``until`` (or a release).
            self.outbox.add(
                outcome(job, d.status or st.WAITING, now, available_at=d.until), job.stored_token
            )
        elif d.action is Action.RETRY:
            job.attempts = d.attempts if d.attempts is not None else job.attempts + 1
            self.outbox.add(
                outcome(job, st.IN_QUEUE, now, available_at=now + timedelta(seconds=d.delay)),
                job.stored_token,
            )
        elif d.action is Action.PAUSE_BOT:
            # Honour retry_after for the whole bot; the row goes back to the front.
            self.rate_limited += 1
            metrics.TELEGRAM_429.labels(self.bot_label).inc()
            mono = time.monotonic()
            resume = mono + d.delay
            self.paused_until_mono = max(self.paused_until_mono, resume)
            # Beyond the pause, the bot's rate drops and climbs back slowly (AIMD).
            self.pacer.rate_limited(mono, resume)
            self.queue.put_back_one(job)
            self._spawn(
                self.inflight,
                self._quietly(
                    "pause",
                    self.store.set_paused_until(self.app_id, now + timedelta(seconds=d.delay)),
                ),
            )
        elif d.action is Action.MIGRATE and d.chat_id is not None:
            old, job.token = job.token, d.chat_id
            job.migrations += 1
            # Back to the front: the next pass checks (mute, token) the new chat id.
            self.queue.put_back_one(job)
            self._spawn(
                self.inflight,
                self._quietly("migration", self.store.migrate_token(self.app_id, old, d.chat_id)),
            )
        # DROP: the row is gone; nothing to record.

    async def _quietly(self, what: str, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            self.errors.report(f"app {self.app_id}: {what}", f"{what} not recorded", exc)

    def _finish(self, job: Job, result: dict[str, Any]) -> None:
        self.outbox.add(result, job.stored_token)
        metrics.MESSAGES.labels(self.bot_label, result["b_error_name"] or result["b_status"]).inc()

    async def _shutdown(self) -> None:
        # A claim finishing now still lands in the queue, and is requeued below.
        await self.chores.wait()
        if self.checks:
            # Checked groups are sent (and land in inflight); failed ones go back.
            await asyncio.gather(*list(self.checks), return_exceptions=True)
        if self.inflight:
            await asyncio.gather(*list(self.inflight), return_exceptions=True)
        self.outbox.requeue_ids.extend(j.id for j in self.queue.drain())
        for _ in range(20):
            try:
                if await self.outbox.flush() and not self.outbox.pending:
                    break
            except Exception:
                pass
            await asyncio.sleep(0.5)
        with contextlib.suppress(Exception):
            await self.store.release_lease(self.app_id, self.worker_id)

    def wake(self) -> None:
        """New work may be committed for this bot: plan and claim on the next pass,
        instead of at the next plan check or after the claim back-off."""
        self.planning = True
        self.claim_exhausted_at = 0.0
        self.woken.set()

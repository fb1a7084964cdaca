"""The calls the sender makes to its storage: the ``DeliveryStore`` protocol.

:class:`SqlDeliveryStore` implements it over ``delivery/repository.py`` (each call one
short transaction on the worker's database threads); ``delivery/testing.py`` holds an
in-memory implementation for fast tests of the sender.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from hushcast.broadcasts import planner
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import holds, policy_facts
from hushcast.delivery import lease_repository as leases
from hushcast.delivery import repository as repo
from hushcast.delivery.decide import PreSendState
from hushcast.delivery.job import Job
from hushcast.webhooks import outbox as webhook_outbox


@dataclass(frozen=True)
class BotSettings:
    """What the sender needs of a bot (an ``apps`` row)."""

    bot_token: str
    username: str
    paid: bool
    messages_per_second: float
    paid_messages_per_second: float
    private_chat_per_second: float
    group_per_minute: float

    @property
    def rate(self) -> float:
        return self.paid_messages_per_second if self.paid else self.messages_per_second


@dataclass(frozen=True)
class CheckItem:
    """A row about to be sent, and the chat id it goes to."""

    id: int
    token: str
    # Its chat id changed (a migration): look for another row of its broadcast there.
    moved: bool = False


class DeliveryStore(Protocol):
    """Everything one bot's sender reads and writes."""

    async def load_bot(self, app_id: int) -> BotSettings | None: ...

    async def renew_lease(self, app_id: int, worker_id: str, lease_s: float) -> bool: ...

    async def release_lease(self, app_id: int, worker_id: str) -> None: ...

    async def set_paused_until(self, app_id: int, until: datetime) -> None: ...

    async def plan(self, app_id: int, batch_size: int) -> bool:
        """Plans one batch of the first due broadcast; True if more planning remains."""
        ...

    async def claim(
        self, app_id: int, limit: int, lease_s: float, transactional_only: bool
    ) -> list[Job]: ...

    async def pre_send_state(
        self, app_id: int, items: Sequence[CheckItem], counted_ids: Collection[int] = ()
    ) -> dict[int, PreSendState]:
        """Each row's state for the chat id it goes to now; the frequency cap's counts
        (``PreSendState.facts``) leave out the rows ``counted_ids``."""
        ...

    async def load_message(self, message_id: int) -> Any:
        """The ``messages`` row (text, image_source, buttons, name, updated_at) or None."""
        ...

    async def load_translations(self, message_id: int) -> list[Any]:
        """The message's translations (language_code, text, image_source, buttons)."""
        ...

    async def migrate_token(self, app_id: int, old: str, new: str) -> None: ...

    async def record(
        self,
        app_id: int,
        outcomes: list[dict[str, Any]],
        requeue_ids: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None: ...

    async def finish_broadcasts(self, app_id: int) -> None: ...

    async def ping(self) -> bool: ...


_DB_THREADS = 16
_executor: concurrent.futures.ThreadPoolExecutor | None = None


def db_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The worker's database threads: claims, checks, outcome writes and planning run
    side by side, more than asyncio's default executor (cores + 4) allows."""
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(
            _DB_THREADS, thread_name_prefix="hushcast-db"
        )
    return _executor


# Rows a broadcast queues before the queue's statistics are refreshed (PostgreSQL).
STATISTICS_ROWS = 10_000


class SqlDeliveryStore:
    """:class:`DeliveryStore` over SQL: each call is one short transaction in a thread."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _write(self, fn: Any, *args: Any) -> Any:
        def run() -> Any:
            with self.db.transaction() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(db_executor(), run)

    async def _read(self, fn: Any, *args: Any) -> Any:
        """A read: on SQLite it neither takes nor waits for the write lock."""

        def run() -> Any:
            with self.db.read() as conn:
                return fn(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(db_executor(), run)

    async def load_bot(self, app_id: int) -> BotSettings | None:
        row = await self._write(repo.load_app, app_id)
        if row is None:
            return None
        return BotSettings(
            bot_token=row.bot_token,
            username=str(row.bot_username),
            paid=bool(row.paid_broadcast),
            messages_per_second=float(row.messages_per_second),
            paid_messages_per_second=float(row.paid_messages_per_second),
            private_chat_per_second=float(row.private_chat_per_second),
            group_per_minute=float(row.group_per_minute),
        )

    async def renew_lease(self, app_id: int, worker_id: str, lease_s: float) -> bool:
        def renew(conn: Any) -> bool:
            now = utcnow()
            held, _, _ = leases.acquire_lease(
                conn, app_id, worker_id, now, now + timedelta(seconds=lease_s)
            )
            return held

        return bool(await self._write(renew))

    async def release_lease(self, app_id: int, worker_id: str) -> None:
        await self._write(leases.release_lease, app_id, worker_id)

    async def set_paused_until(self, app_id: int, until: datetime) -> None:
        await self._write(leases.set_paused_until, app_id, until)

    async def plan(self, app_id: int, batch_size: int) -> bool:
        def plan(conn: Any) -> tuple[bool, bool]:
            now = utcnow()
            due = planner.due_broadcasts(conn, app_id, now)
            if not due:
                return False, False
            before = int(due[0].total_recipients or 0)
            done = planner.plan_batch(conn, int(due[0].id), now, batch_size)
            after = planner.total_recipients(conn, int(due[0].id))
            # Statistics refreshed once the broadcast has many rows queued, and again
            # when its planning ends large (see repo.refresh_statistics).
            crossed = before < STATISTICS_ROWS <= after
            return True, crossed or (done and after >= STATISTICS_ROWS and before > 0)

        more, refresh = await self._write(plan)
        if refresh:
            with contextlib.suppress(Exception):  # statistics are an optimisation
                await self._read(repo.refresh_statistics)
        return bool(more)

    async def claim(
        self, app_id: int, limit: int, lease_s: float, transactional_only: bool
    ) -> list[Job]:
        def claim(conn: Any) -> list[Job]:
            now = utcnow()
            # Parked rows whose moment came (quiet hours over, local time, mute expired,
            # hold deadline) join the queue first: an index probe when there are none.
            holds.release_due(conn, app_id, now)
            running = [] if transactional_only else repo.running_broadcasts(conn, app_id)
            rows = repo.claim_with_contacts(
                conn, app_id, running, limit, now, now + timedelta(seconds=lease_s)
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
                    language=r.language_code,
                )
                for r, contact in rows
            ]

        result: list[Job] = await self._write(claim)
        return result

    async def pre_send_state(
        self, app_id: int, items: Sequence[CheckItem], counted_ids: Collection[int] = ()
    ) -> dict[int, PreSendState]:
        targets = [(i.id, i.token) for i in items]

        def facts_of(conn: Any) -> dict[int, Any]:
            return policy_facts.gather(conn, app_id, targets, utcnow(), counted_ids)

        def state_of(conn: Any) -> tuple[dict[int, Any], set[int]]:
            rows = repo.pre_send_state(conn, app_id, targets, utcnow())
            moved = [(i.id, i.token) for i in items if i.moved]
            return rows, repo.taken_in_broadcast(conn, moved) if moved else set()

        # Reads: they see every committed mute, and on SQLite they do not queue behind
        # the worker's own claims and outcome writes. The eligibility pipeline's facts
        # come first, in their own read, and the mute last, in a fresh snapshot: a mute
        # committed while the facts were read still stops the send, and the time from
        # reading the mute to the request is no longer than that one query.
        def both() -> tuple[dict[int, Any], tuple[dict[int, Any], set[int]]]:
            # Two reads, one after the other, in one trip to a database thread: each
            # trip costs a thread hand-off and a wake-up of the busy event loop (about
            # 15 ms of a 45 ms check in the raw benchmark, where the checks were what the
            # sends waited for).
            if self.db.is_sqlite:
                # A read transaction holds one snapshot: the mute's is a second one.
                with self.db.read() as conn:
                    facts = facts_of(conn)
                with self.db.read() as conn:
                    return facts, state_of(conn)
            # PostgreSQL's reads run without a transaction (core/db.py): each statement
            # takes its own snapshot, so one connection serves both (a checkout and
            # return cost 250 us of a database thread's CPU, twice per check).
            with self.db.read() as conn:
                facts = facts_of(conn)
                return facts, state_of(conn)

        facts, (rows, duplicates) = await asyncio.get_running_loop().run_in_executor(
            db_executor(), both
        )
        return {
            row_id: PreSendState(
                broadcast_status=r.broadcast_status,
                muted_until=r.muted_until,
                token_active=None if r.active is None else bool(r.active),
                message_version=r.message_version,
                duplicate=row_id in duplicates,
                facts=facts.get(row_id),
            )
            for row_id, r in rows.items()
        }

    async def load_message(self, message_id: int) -> Any:
        return await self._read(repo.load_message, message_id)

    async def load_translations(self, message_id: int) -> list[Any]:
        result: list[Any] = await self._read(repo.load_translations, message_id)
        return result

    async def migrate_token(self, app_id: int, old: str, new: str) -> None:
        await self._write(repo.migrate_token, app_id, old, new)

    async def record(
        self,
        app_id: int,
        outcomes: list[dict[str, Any]],
        requeue_ids: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        def write(conn: Any) -> None:
            repo.record_outcomes(conn, outcomes)
            webhook_outbox.record_outcomes(conn, app_id, outcomes, deactivate)
            repo.requeue(conn, requeue_ids)
            now = utcnow()
            for token, reason in deactivate:
                repo.deactivate_tokens(conn, app_id, [token], reason, now)

        await self._write(write)

    async def finish_broadcasts(self, app_id: int) -> None:
        def finish(conn: Any) -> None:
            now = utcnow()
            for bid in repo.running_broadcasts(conn, app_id):
                planner.finish_if_done(conn, bid, now)

        await self._write(finish)

    async def ping(self) -> bool:
        return bool(await self._read(repo.ping))

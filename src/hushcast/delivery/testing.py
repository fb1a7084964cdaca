"""In-memory doubles for testing the sender without a database or HTTP: a
:class:`InMemoryDeliveryStore` (the ``DeliveryStore`` protocol over dicts, with the
database's rules that matter: one row per (broadcast, chat id), no NUL in text) and an
:class:`InMemoryTelegram` (the ``TelegramClient`` protocol with scripted answers).

:func:`drain` runs an ``AppSender`` until the store has nothing pending; the store's
clock jumps over back-off delays instead of the test sleeping through them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from hushcast.core.timeutil import utcnow
from hushcast.delivery import eligibility as el
from hushcast.delivery import status as st
from hushcast.delivery.decide import PreSendState
from hushcast.delivery.job import Job
from hushcast.delivery.store import BotSettings, CheckItem
from hushcast.messages.render import ContactData
from hushcast.telegram.client import BotInfo, SendResult


class StoreRejected(Exception):
    """What the in-memory store raises where a database would refuse a write."""


@dataclass
class Row:
    id: int
    token: str
    message_id: int
    broadcast_id: int | None = None
    kind: str = st.KIND_BROADCAST
    json_param: str | None = None
    contact: ContactData | None = None
    language: str | None = None
    status: str = st.IN_QUEUE
    attempts: int = 0
    available_at: datetime = field(default_factory=lambda: datetime(2000, 1, 1))
    error_type: str | None = None
    error_name: str | None = None
    description: str | None = None
    telegram_message_id: int | None = None


class InMemoryDeliveryStore:
    """One bot's queue, tokens, mutes, broadcasts and messages, in memory."""

    def __init__(self, bot: BotSettings | None = None, app_id: int = 1) -> None:
        self.app_id = app_id
        self.bot = bot or BotSettings(
            bot_token="1:test",
            username="test_bot",
            paid=False,
            messages_per_second=1000.0,
            paid_messages_per_second=1000.0,
            private_chat_per_second=1.0,
            group_per_minute=20.0,
        )
        self.rows: dict[int, Row] = {}
        self.broadcasts: dict[int, str] = {}
        self.tokens: dict[str, bool] = {}
        self.mutes: dict[str, datetime] = {}
        self.messages: dict[int, SimpleNamespace] = {}
        self.translations: dict[int, dict[str, SimpleNamespace]] = {}
        self.paused_until: datetime | None = None
        self.migrations: list[tuple[str, str]] = []
        self.skew = timedelta(0)
        self.fail_checks = 0  # the next N pre-send checks raise (the database is down)
        self.down = False  # every call raises
        # While set and not open, outcome writes wait (a slow database).
        self.writes_open: asyncio.Event | None = None
        self.checks: list[list[CheckItem]] = []
        # Loading a message (compiling its template, between a check and its sends)
        # takes this long, and runs on_load first: e.g. a mute committed meanwhile.
        self.load_delay_s = 0.0
        self.on_load: Callable[[], None] | None = None
        # A frequency cap (count, period in seconds) on the bot's broadcast rows; the
        # count is every delivered broadcast row of the chat (no clock of sends here).
        self.cap: tuple[int, int] | None = None
        self.counted_ids: list[frozenset[int]] = []  # what each check left out of counts
        self._ids = itertools.count(1)
        self._versions = itertools.count(1)

    # -- setting up ----------------------------------------------------------

    def now(self) -> datetime:
        return utcnow() + self.skew

    def put_message(
        self,
        message_id: int,
        text: str,
        *,
        buttons: list[dict[str, Any]] | None = None,
        image_source: str | None = None,
    ) -> None:
        """Creates or replaces a message; a replacement gets a new version."""
        self.messages[message_id] = SimpleNamespace(
            id=message_id,
            name=f"message {message_id}",
            text=text,
            image_source=image_source,
            buttons=buttons,
            updated_at=datetime(2026, 1, 1) + timedelta(microseconds=next(self._versions)),
        )

    def put_translation(self, message_id: int, language: str, text: str) -> None:
        """Adds a language version; like the API, it makes a new message version."""
        self.translations.setdefault(message_id, {})[language] = SimpleNamespace(
            language_code=language, text=text, image_source=None, buttons=None
        )
        message = self.messages[message_id]
        message.updated_at = datetime(2026, 1, 1) + timedelta(microseconds=next(self._versions))

    def add_token(self, token: str, active: bool = True) -> None:
        self.tokens[token] = active

    def add_broadcast(self, broadcast_id: int, status: str = st.B_RUNNING) -> None:
        self.broadcasts[broadcast_id] = status

    def add_row(
        self,
        token: str,
        message_id: int,
        broadcast_id: int | None = None,
        json_param: str | None = None,
        language: str | None = None,
    ) -> Row:
        if token not in self.tokens:
            self.add_token(token)
        row = Row(
            id=next(self._ids),
            token=token,
            message_id=message_id,
            broadcast_id=broadcast_id,
            kind=st.KIND_BROADCAST if broadcast_id is not None else st.KIND_SMARTSEND,
            json_param=json_param,
            language=language,
        )
        self._check_unique(row.id, broadcast_id, token)
        self.rows[row.id] = row
        return row

    def mute(self, token: str, until: datetime | None = None) -> None:
        self.mutes[token] = until or datetime(9999, 1, 1)

    @property
    def pending(self) -> list[Row]:
        return [r for r in self.rows.values() if r.status in st.PENDING_STATUSES]

    def by_token(self) -> dict[str, Row]:
        return {r.token: r for r in self.rows.values()}

    # -- rules a database enforces ---------------------------------------------

    def _check_unique(self, row_id: int, broadcast_id: int | None, token: str) -> None:
        if broadcast_id is None:
            return
        for other in self.rows.values():
            if other.id != row_id and other.broadcast_id == broadcast_id and other.token == token:
                raise StoreRejected(f"duplicate (broadcast {broadcast_id}, chat {token})")

    def _gate(self) -> None:
        if self.down:
            raise StoreRejected("the database is down")

    # -- DeliveryStore -----------------------------------------------------------

    async def load_bot(self, app_id: int) -> BotSettings | None:
        self._gate()
        return self.bot

    async def renew_lease(self, app_id: int, worker_id: str, lease_s: float) -> bool:
        self._gate()
        return True

    async def release_lease(self, app_id: int, worker_id: str) -> None:
        return None

    async def set_paused_until(self, app_id: int, until: datetime) -> None:
        self._gate()
        self.paused_until = until

    async def plan(self, app_id: int, batch_size: int) -> bool:
        self._gate()
        return False

    async def claim(
        self, app_id: int, limit: int, lease_s: float, transactional_only: bool
    ) -> list[Job]:
        self._gate()
        now = self.now()
        due = [r for r in self.rows.values() if r.status == st.IN_QUEUE and r.available_at <= now]
        tx = sorted((r for r in due if r.broadcast_id is None), key=lambda r: r.id)
        bc = sorted(
            (
                r
                for r in due
                if r.broadcast_id is not None
                and self.broadcasts.get(r.broadcast_id) == st.B_RUNNING
            ),
            key=lambda r: (r.broadcast_id or 0, r.id),
        )
        picked = (tx if transactional_only else tx + bc)[:limit]
        for r in picked:
            r.status = st.SENDING
        return [
            Job(
                id=r.id,
                kind=r.kind,
                token=r.token,
                contact_id=None,
                message_id=r.message_id,
                json_param=r.json_param,
                broadcast_id=r.broadcast_id,
                attempts=r.attempts,
                contact=r.contact,
                language=r.language,
            )
            for r in picked
        ]

    async def pre_send_state(
        self, app_id: int, items: Sequence[CheckItem], counted_ids: Collection[int] = ()
    ) -> dict[int, PreSendState]:
        self._gate()
        self.checks.append(list(items))
        self.counted_ids.append(frozenset(counted_ids))
        if self.fail_checks > 0:
            self.fail_checks -= 1
            raise StoreRejected("the database is restarting")
        now = self.now()
        out: dict[int, PreSendState] = {}
        for item in items:
            row = self.rows.get(item.id)
            if row is None:
                continue
            until = self.mutes.get(item.token)
            message = self.messages.get(row.message_id)
            out[item.id] = PreSendState(
                broadcast_status=(
                    None if row.broadcast_id is None else self.broadcasts.get(row.broadcast_id)
                ),
                muted_until=until if until is not None and until > now else None,
                token_active=self.tokens.get(item.token),
                message_version=None if message is None else message.updated_at,
                duplicate=item.moved
                and any(
                    o.id != row.id and o.broadcast_id == row.broadcast_id and o.token == item.token
                    for o in self.rows.values()
                    if row.broadcast_id is not None
                ),
                facts=self._facts(row, item.token, now, counted_ids),
            )
        return out

    def _facts(
        self, row: Row, token: str, now: datetime, counted_ids: Collection[int]
    ) -> el.Facts | None:
        if self.cap is None or row.broadcast_id is None:
            return None
        sent = sum(
            1
            for o in self.rows.values()
            if o.token == token
            and o.broadcast_id is not None
            and o.status == st.DELIVERED
            and o.id not in counted_ids
        )
        count, period = self.cap
        return el.Facts(
            now=now, zone=ZoneInfo("UTC"), cap=count, cap_period_s=period, sent_in_period=sent
        )

    async def load_message(self, message_id: int) -> Any:
        self._gate()
        if self.on_load is not None:
            self.on_load()
        if self.load_delay_s > 0:
            await asyncio.sleep(self.load_delay_s)
        return self.messages.get(message_id)

    async def load_translations(self, message_id: int) -> list[Any]:
        self._gate()
        return list(self.translations.get(message_id, {}).values())

    async def migrate_token(self, app_id: int, old: str, new: str) -> None:
        self._gate()
        self.migrations.append((old, new))
        if new not in self.tokens and old in self.tokens:
            self.tokens[new] = self.tokens.pop(old)
        if new not in self.mutes and old in self.mutes:
            self.mutes[new] = self.mutes.pop(old)
        # As the SQL store: rows waiting for the old id move, unless their broadcast
        # already has a row for the new one.
        for row in self.rows.values():
            if (
                row.token == old
                and row.status in (st.HELD, st.IN_QUEUE, st.WAITING)
                and row.broadcast_id is not None
                and self.broadcasts.get(row.broadcast_id) in (st.B_RUNNING, st.B_PAUSED)
                and not any(
                    o.broadcast_id == row.broadcast_id and o.token == new
                    for o in self.rows.values()
                )
            ):
                row.token = new

    async def record(
        self,
        app_id: int,
        outcomes: list[dict[str, Any]],
        requeue_ids: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        if self.writes_open is not None:
            await self.writes_open.wait()
        self._gate()
        # All or nothing, as one transaction: check every row first.
        for o in outcomes:
            row = self.rows.get(int(o["b_id"]))
            if row is None:
                continue
            for value in o.values():
                if isinstance(value, str) and "\x00" in value:
                    raise StoreRejected("NUL byte in text")
            self._check_unique(row.id, row.broadcast_id, str(o["b_token"]))
        for o in outcomes:
            row = self.rows.get(int(o["b_id"]))
            if row is None:
                continue
            row.status = o["b_status"]
            row.error_type = o["b_error_type"]
            row.error_name = o["b_error_name"]
            row.description = o["b_description"]
            row.telegram_message_id = o["b_message_id"]
            row.attempts = int(o["b_attempts"])
            row.available_at = o["b_available_at"] + self.skew
            row.token = str(o["b_token"])
        for row_id in requeue_ids:
            row = self.rows.get(row_id)
            if row is not None and row.status == st.SENDING:
                row.status = st.IN_QUEUE
        for token, _reason in deactivate:
            self.tokens[token] = False

    async def finish_broadcasts(self, app_id: int) -> None:
        self._gate()
        for bid, status in self.broadcasts.items():
            if status == st.B_RUNNING and not any(r.broadcast_id == bid for r in self.pending):
                self.broadcasts[bid] = st.B_FINISHED

    async def ping(self) -> bool:
        self._gate()
        return True


@dataclass
class Sent:
    chat_id: str
    text: str
    buttons: list[dict[str, Any]] | None
    photo: str | None = None


class InMemoryTelegram:
    """The ``TelegramClient`` protocol in memory: every send succeeds unless an answer
    was scripted for its chat id; ``on_send`` runs before each answer (to change the
    world mid-broadcast)."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []  # accepted sends
        self.attempts: list[str] = []  # every chat id a request went to
        self.scripted: dict[str, list[SendResult]] = {}
        self.on_send: Callable[[str], None] | None = None
        self._message_ids = itertools.count(1)

    def script(self, chat_id: str, *answers: SendResult) -> None:
        self.scripted.setdefault(chat_id, []).extend(answers)

    def sent_to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def get_me(self, bot_token: str) -> BotInfo:
        return BotInfo(id=1, username="test_bot", first_name="Test")

    async def _answer(
        self, chat_id: str, text: str, buttons: Any, photo: str | None = None
    ) -> SendResult:
        self.attempts.append(chat_id)
        if self.on_send is not None:
            self.on_send(chat_id)
        queue = self.scripted.get(chat_id)
        if queue:
            return queue.pop(0)
        self.sent.append(Sent(chat_id, text, buttons, photo))
        return SendResult(ok=True, message_id=next(self._message_ids))

    async def send_message(
        self,
        bot_token: str,
        chat_id: str,
        text: str,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult:
        return await self._answer(chat_id, text, buttons)

    async def send_photo(
        self,
        bot_token: str,
        chat_id: str,
        photo: str,
        caption: str | None,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult:
        return await self._answer(chat_id, caption or "", buttons, photo)

    async def close(self) -> None:
        return None


async def drain(sender: Any, store: InMemoryDeliveryStore, limit_s: float = 20.0) -> None:
    """Runs ``sender`` until nothing is pending in ``store`` and its outcomes are written.

    Rows due later (a retry's back-off) are made due at once by moving the store's
    clock, so no test waits for a back-off. ``limit_s`` is a safety net against a
    sender that never finishes, not a measure.
    """
    task = asyncio.create_task(sender.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    try:
        while True:
            await asyncio.sleep(0.005)
            if task.done():
                break
            pending = store.pending
            if not pending and not sender.outbox.pending and not sender.inflight:
                break
            waiting = [r for r in pending if r.status == st.IN_QUEUE]
            if waiting and len(waiting) == len(pending) and not sender.queue:
                earliest = min(r.available_at for r in waiting)
                if earliest > store.now():
                    store.skew += earliest - store.now() + timedelta(milliseconds=1)
                    sender.wake()
            if loop.time() > deadline:
                raise AssertionError(f"sender did not finish: {len(pending)} rows pending")
    finally:
        sender.stopping = True
        sender.woken.set()
        await asyncio.wait_for(task, 10)

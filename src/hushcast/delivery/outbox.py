"""The outcome buffer of one bot and its flush.

Outcomes are buffered and written in batches (one statement per batch). A batch that
cannot be written is never retried as a whole forever: when the database answers a
probe, one row of the batch is the cause, so the batch is split until that row is
found; it is then recorded as a failure with a safe description (and the chat id it
was claimed with), or left for the lease takeover if even that is refused. The good
rows of the batch are written either way. When the database does not answer, the
whole buffer waits for the next flush.

Repeated errors are logged once, then counted (:class:`RepeatedErrors`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hushcast.delivery import status as st
from hushcast.delivery.job import clean_text

log = logging.getLogger("hushcast.worker")


def short(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line (no traceback: a RecursionError's runs to 180 KB)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass
class _Seen:
    first: float
    count: int = 0


class RepeatedErrors:
    """Logs an error the first time, then counts its repeats: one line per ``every``
    seconds while it goes on, and one when it stops."""

    def __init__(
        self,
        logger: logging.Logger = log,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def report(self, key: str, message: str, exc: BaseException | None = None) -> None:
        now = self.clock()
        detail = f"{message}: {short(exc)}" if exc is not None else message
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(now)
            self.logger.error("%s", detail)
            return
        seen.count += 1
        if now - seen.first >= self.every:
            self.logger.error(
                "%s (repeated %d times in %.0f s)", detail, seen.count, now - seen.first
            )
            self._seen[key] = _Seen(now)

    def resolved(self, key: str) -> None:
        seen = self._seen.pop(key, None)
        if seen is not None and seen.count:
            self.logger.warning("%s: recovered after %d more failures", key, seen.count)


class OutcomeWriter(Protocol):
    async def record(
        self,
        app_id: int,
        outcomes: list[dict[str, Any]],
        requeue_ids: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None: ...

    async def ping(self) -> bool: ...


@dataclass
class Outbox:
    """One bot's outcomes, rows to requeue and tokens to deactivate, not yet written."""

    store: OutcomeWriter
    app_id: int
    errors: RepeatedErrors = field(default_factory=RepeatedErrors)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    requeue_ids: list[int] = field(default_factory=list)
    deactivate: list[tuple[str, str]] = field(default_factory=list)
    # Row id -> the chat id it was claimed with, for rows recorded with another one.
    stored_tokens: dict[int, str] = field(default_factory=dict)
    # Rows whose outcome could not be written at all (left for the lease takeover).
    dropped: int = 0
    # Outcomes and requeues taken by the flush in progress.
    writing: int = 0
    # Told the row ids of each flush's outcomes once they are written (or given up).
    on_recorded: Callable[[list[int]], None] | None = None

    def add(self, outcome: dict[str, Any], stored_token: str | None = None) -> None:
        self.outcomes.append(outcome)
        if stored_token is not None and stored_token != outcome["b_token"]:
            self.stored_tokens[int(outcome["b_id"])] = stored_token

    @property
    def pending(self) -> bool:
        return bool(self.outcomes or self.requeue_ids or self.deactivate)

    @property
    def unrecorded(self) -> int:
        """Rows sent (or answered) whose outcome is not in the database yet: after a
        crash each of them is sent again, so the sender keeps this number bounded."""
        return len(self.outcomes) + len(self.requeue_ids) + self.writing

    async def flush(self) -> bool:
        """Writes what is buffered; False only when the database did not answer (all of
        it is kept for the next flush). True also when more arrived during the write: a
        busy bot's outcomes always do, and treating that as a failure (as until now) made
        the sender wait half a second after every write, so outcomes were written twice a
        second and the unrecorded limit stalled sending (paid benchmark: ~100 slots a
        second lost)."""
        if not self.pending:
            return True
        outcomes, self.outcomes = self.outcomes, []
        requeue, self.requeue_ids = self.requeue_ids, []
        deactivate, self.deactivate = self.deactivate, []
        self.writing = len(outcomes) + len(requeue)
        try:
            await self.store.record(self.app_id, outcomes, requeue, deactivate)
        except Exception as exc:
            self.errors.report(
                f"app {self.app_id}: outcome write", "could not record outcomes", exc
            )
            if not await self._database_answers():
                self._put_back(outcomes, requeue, deactivate)
                return False
            await self._isolate_bad_rows(outcomes, requeue, deactivate)
        else:
            self.errors.resolved(f"app {self.app_id}: outcome write")
        finally:
            self.writing = 0
        ids = [int(o["b_id"]) for o in outcomes]
        for row_id in ids:
            self.stored_tokens.pop(row_id, None)
        if self.on_recorded is not None:
            self.on_recorded(ids)
        return True

    async def _database_answers(self) -> bool:
        try:
            return await self.store.ping()
        except Exception:
            return False

    def _put_back(
        self,
        outcomes: list[dict[str, Any]],
        requeue: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        self.outcomes[:0] = outcomes
        self.requeue_ids[:0] = requeue
        self.deactivate[:0] = deactivate

    async def _isolate_bad_rows(
        self,
        outcomes: list[dict[str, Any]],
        requeue: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        try:
            await self.store.record(self.app_id, [], requeue, deactivate)
        except Exception as exc:
            self.errors.report(f"app {self.app_id}: requeue", "could not requeue rows", exc)
            self.requeue_ids[:0] = requeue
            self.deactivate[:0] = deactivate
        await self._split(outcomes)

    async def _split(self, batch: list[dict[str, Any]]) -> None:
        if len(batch) == 1:
            await self._last_resort(batch[0])
            return
        mid = len(batch) // 2
        for half in (batch[:mid], batch[mid:]):
            try:
                await self.store.record(self.app_id, half, [], [])
            except Exception:
                await self._split(half)

    async def _last_resort(self, bad: dict[str, Any]) -> None:
        """The one row no write accepts: record it as failed, as it was claimed."""
        row_id = int(bad["b_id"])
        log.error(
            "app %s: the outcome of row %s cannot be recorded (%s); recording it as failed",
            self.app_id,
            row_id,
            bad["b_status"],
        )
        safe = {
            **bad,
            "b_token": self.stored_tokens.get(row_id, bad["b_token"]),
            "b_description": clean_text(
                f"outcome {bad['b_status']} {bad.get('b_error_name') or ''} could not be stored",
                200,
            ),
        }
        if bad["b_status"] not in st.FINAL_STATUSES:
            safe["b_status"] = st.ERROR
            safe["b_error_type"] = st.ERRORS
            safe["b_error_name"] = st.SEND_FAILED
            safe["b_finished_at"] = bad["b_available_at"]
        try:
            await self.store.record(self.app_id, [safe], [], [])
        except Exception as exc:
            self.dropped += 1
            self.errors.report(
                f"app {self.app_id}: unrecordable row", "a row's outcome cannot be recorded", exc
            )

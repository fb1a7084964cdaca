"""The outcome buffer: a batch the database refuses is split until the bad row is found;
the rest is written; the database being down keeps everything for later."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest

from hushcast.delivery import status as st
from hushcast.delivery.outbox import Outbox, RepeatedErrors

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 1, 1)


def o(i: int, description: str | None = None, token: str | None = None) -> dict[str, Any]:
    return {
        "b_id": i,
        "b_status": st.DELIVERED,
        "b_error_type": None,
        "b_error_name": None,
        "b_description": description,
        "b_message_id": i,
        "b_finished_at": NOW,
        "b_attempts": 0,
        "b_available_at": NOW,
        "b_token": token or str(i),
    }


class PickyStore:
    """Refuses any batch holding a row of ``bad`` (as a constraint would)."""

    def __init__(self, bad: set[int], up: bool = True) -> None:
        self.bad = bad
        self.up = up
        self.written: dict[int, dict[str, Any]] = {}
        self.requeued: list[int] = []
        self.calls = 0

    async def record(
        self,
        app_id: int,
        outcomes: list[dict[str, Any]],
        requeue_ids: list[int],
        deactivate: list[tuple[str, str]],
    ) -> None:
        self.calls += 1
        if not self.up:
            raise ConnectionError("server closed the connection")
        if any(int(x["b_id"]) in self.bad and x["b_token"] != "stored" for x in outcomes):
            raise ValueError("duplicate key value violates unique constraint")
        for x in outcomes:
            self.written[int(x["b_id"])] = x
        self.requeued.extend(requeue_ids)

    async def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("down")
        return True


async def test_good_batch_is_written_in_one_call() -> None:
    store = PickyStore(set())
    box = Outbox(store, 1)
    for i in range(10):
        box.add(o(i))
    assert await box.flush() is True
    assert sorted(store.written) == list(range(10)) and store.calls == 1


async def test_bad_row_is_isolated_and_recorded_with_its_claimed_chat_id() -> None:
    store = PickyStore({7})
    box = Outbox(store, 1)
    for i in range(16):
        box.add(o(i), stored_token="stored" if i == 7 else None)
    box.requeue_ids.append(99)
    assert await box.flush() is True
    assert sorted(store.written) == list(range(16))
    assert store.written[7]["b_token"] == "stored"
    assert store.written[7]["b_status"] == st.DELIVERED
    assert store.requeued == [99]
    assert box.dropped == 0
    assert store.calls < 16 + 10  # split, not one write per row plus retries forever


async def test_unrecordable_row_is_dropped_once_and_the_rest_written() -> None:
    store = PickyStore({3})
    box = Outbox(store, 1)
    for i in range(5):
        box.add(o(i))  # no stored chat id to fall back to: even the safe form fails
    assert await box.flush() is True
    assert sorted(store.written) == [0, 1, 2, 4]
    assert box.dropped == 1
    assert not box.pending


async def test_database_down_keeps_everything_for_the_next_flush() -> None:
    store = PickyStore(set(), up=False)
    box = Outbox(store, 1)
    box.add(o(1))
    box.requeue_ids.append(5)
    assert await box.flush() is False
    assert box.pending and len(box.outcomes) == 1 and box.requeue_ids == [5]
    store.up = True
    assert await box.flush() is True
    assert list(store.written) == [1] and store.requeued == [5]


async def test_repeated_errors_are_logged_once_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    errors = RepeatedErrors(logging.getLogger("t.rep"), every=60, clock=lambda: clock[0])
    exc = RecursionError("maximum recursion depth exceeded" + "!" * 10_000)
    with caplog.at_level(logging.WARNING, "t.rep"):
        for _ in range(100):
            clock[0] += 0.5
            errors.report("k", "check failed", exc)
        errors.resolved("k")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "repeated" not in lines[0] and len(lines[0]) < 400
    assert "recovered after 99 more failures" in lines[1]


async def test_outcomes_arriving_during_a_write_are_not_a_failure() -> None:
    """A busy bot's sends are answered while a write runs: the flush succeeded and says
    so (the sender pauses only after a failed flush; it paused after every write while
    sending, so outcomes were written twice a second and sending stalled)."""
    store = PickyStore(set())
    box = Outbox(store, 1)
    box.add(o(1))
    real_record = store.record

    async def record_while_answers_arrive(*args: Any) -> None:
        box.add(o(2))  # answered meanwhile
        await real_record(*args)

    store.record = record_while_answers_arrive  # type: ignore[method-assign]
    assert await box.flush() is True
    assert list(store.written) == [1]
    assert box.pending and box.unrecorded == 1

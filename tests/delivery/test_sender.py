"""The sender on the in-memory store and Telegram: every decision applied, no HTTP,
no database, no sleeping through back-offs (delivery/testing.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

import pytest

from hushcast.core.config import Settings
from hushcast.delivery import status as st
from hushcast.delivery.sender import AppSender
from hushcast.delivery.store import BotSettings
from hushcast.delivery.testing import InMemoryDeliveryStore, InMemoryTelegram, drain
from hushcast.telegram.client import SendResult
from tests.support.cycles import cyclic_garbage

pytestmark = pytest.mark.asyncio

BOT = BotSettings(
    bot_token="1:test",
    username="test_bot",
    paid=False,
    messages_per_second=1000.0,
    paid_messages_per_second=1000.0,
    private_chat_per_second=1000.0,
    group_per_minute=1000.0,
)
SETTINGS = Settings(
    database_url="sqlite://",
    worker_poll_s=0.01,
    public_url="http://hush.test",
    worker_max_attempts=3,
)


def setup(n: int = 0, text: str = "Hello") -> tuple[InMemoryDeliveryStore, InMemoryTelegram]:
    store = InMemoryDeliveryStore(BOT)
    store.put_message(1, text)
    store.add_broadcast(10)
    for i in range(n):
        store.add_row(str(1000 + i), 1, 10)
    return store, InMemoryTelegram()


def sender(store: InMemoryDeliveryStore, telegram: InMemoryTelegram) -> AppSender:
    return AppSender(store, telegram, SETTINGS, 1, "w1", secret=lambda: "s3cret")


async def test_every_row_is_delivered_once() -> None:
    store, tg = setup(20)
    await drain(sender(store, tg), store)
    assert sorted(s.chat_id for s in tg.sent) == sorted(str(1000 + i) for i in range(20))
    assert {r.status for r in store.rows.values()} == {st.DELIVERED}
    assert all(r.telegram_message_id for r in store.rows.values())


async def test_sends_leave_no_reference_cycles() -> None:
    """What a send creates is freed when its last reference goes: the worker runs its
    cycle collector rarely (core/collector.py) and each run walks everything in
    flight, so cyclic garbage per send would cost every send (BENCHMARKS.md, round
    13). Values turned into text: that once left a closure cycle per value."""
    text = "Hi %FIRSTNAME|you%: $data.get('n') $data.get('tags')"
    params = json.dumps({"n": 41, "tags": ["a", 1, None]})
    warm_store, warm_tg = setup(0, text)
    for i in range(20):
        warm_store.add_row(str(2000 + i), 1, 10, json_param=params)
    await drain(sender(warm_store, warm_tg), warm_store)
    store, tg = setup(0, text)
    for i in range(300):
        store.add_row(str(1000 + i), 1, 10, json_param=params)
    with cyclic_garbage() as found:
        await drain(sender(store, tg), store)
    assert {m.text for m in tg.sent} == {"Hi you: 41 [a, 1, null]"}
    assert len(tg.sent) == 300
    assert found == []


async def test_429_pauses_the_bot_and_the_row_is_sent_again() -> None:
    store, tg = setup(3)
    tg.script("1001", SendResult(ok=False, error_code=429, retry_after=0))
    s = sender(store, tg)
    await drain(s, store)
    assert s.rate_limited == 1
    assert store.paused_until is not None
    assert len(tg.sent_to("1001")) == 1
    assert store.by_token()["1001"].status == st.DELIVERED
    assert store.by_token()["1001"].attempts == 0  # a 429 is not a failed attempt


async def test_migration_into_a_muted_chat_is_not_sent() -> None:
    store, tg = setup()
    store.add_row("-5", 1, 10)
    store.mute("-1005")
    tg.script("-5", SendResult(ok=False, error_code=400, migrate_to_chat_id=-1005))
    await drain(sender(store, tg), store)
    assert tg.sent_to("-1005") == []
    assert tg.attempts == ["-5"]
    row = store.rows[1]
    assert (row.status, row.error_name, row.token) == (
        st.UNAVAILABLE,
        st.CHANNEL_WAS_MUTED,
        "-1005",
    )
    assert store.migrations == [("-5", "-1005")]


async def test_migration_is_checked_for_the_new_chat_and_sent_there() -> None:
    store, tg = setup()
    store.add_row("-6", 1, 10)
    tg.script("-6", SendResult(ok=False, error_code=400, migrate_to_chat_id=-1006))
    s = sender(store, tg)
    await drain(s, store)
    assert [c.token for c in store.checks[-1]] == ["-1006"]
    assert len(tg.sent_to("-1006")) == 1
    assert (store.rows[1].status, store.rows[1].token) == (st.DELIVERED, "-1006")


async def test_migration_into_a_chat_the_broadcast_already_has() -> None:
    store, tg = setup()
    store.add_row("-7", 1, 10)
    store.add_row("-1007", 1, 10)
    tg.script("-7", SendResult(ok=False, error_code=400, migrate_to_chat_id=-1007))
    await drain(sender(store, tg), store)
    assert len(tg.sent_to("-1007")) == 1  # once, not twice
    moved = store.rows[1]
    assert (moved.status, moved.error_name, moved.token) == (
        st.UNAVAILABLE,
        st.TOKEN_INACTIVE,
        "-7",
    )


async def test_5xx_then_success_retries_with_the_check_again() -> None:
    store, tg = setup(2)
    tg.script("1000", SendResult(ok=False, error_code=502, description="Bad Gateway"))
    await drain(sender(store, tg), store)
    row = store.by_token()["1000"]
    assert (row.status, row.attempts) == (st.DELIVERED, 1)
    assert tg.attempts.count("1000") == 2
    assert sum(1 for batch in store.checks for c in batch if c.token == "1000") == 2


async def test_5xx_until_the_last_attempt_fails_the_row() -> None:
    store, tg = setup(1)
    tg.script("1000", *[SendResult(ok=False, error_code=500)] * 3)
    await drain(sender(store, tg), store)
    row = store.by_token()["1000"]
    assert (row.status, row.error_name, row.attempts) == (st.ERROR, st.SEND_FAILED, 3)


async def test_a_retry_into_a_chat_muted_meanwhile_is_not_sent() -> None:
    store, tg = setup(1)
    tg.script("1000", SendResult(ok=False, error_code=500))
    tg.on_send = lambda chat: store.mute("1000")
    await drain(sender(store, tg), store)
    assert tg.sent == []
    assert store.by_token()["1000"].error_name == st.CHANNEL_WAS_MUTED


async def test_poison_row_fails_alone_and_the_others_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, tg = setup()
    store.put_message(1, "Hi $data.get('a')")
    deep = "[" * 600 + "]" * 600
    good = [store.add_row(str(2000 + i), 1, 10, json.dumps({"a": i})) for i in range(5)]
    bad = store.add_row("2999", 1, 10, '{"a": ' + deep + "}")
    with caplog.at_level(logging.ERROR, "hushcast.worker"):
        await drain(sender(store, tg), store)
    assert bad.status == st.ERROR and bad.error_name == st.TEMPLATE_ERROR
    assert bad.description and len(bad.description) <= 300
    assert all(r.status == st.DELIVERED for r in good)
    assert tg.sent_to("2999") == []
    assert sum(len(r.getMessage()) for r in caplog.records) < 2000


async def test_nul_in_a_template_error_is_stored_cleaned() -> None:
    store, tg = setup()
    # The renderer's error text quotes the template, NUL byte included.
    store.put_message(2, "#if($data.get('a')\x00")
    row = store.add_row("3000", 2, 10)
    ok = store.add_row("3001", 1, 10)
    await drain(sender(store, tg), store)
    assert row.status == st.ERROR
    assert row.error_name == st.TEMPLATE_ERROR
    assert row.description is not None and "\ufffd" in row.description
    assert "\x00" not in row.description
    assert ok.status == st.DELIVERED


async def test_message_edited_mid_broadcast_goes_out_in_its_new_text() -> None:
    store, tg = setup(10, text="old text")
    edited = False

    def edit(chat: str) -> None:
        nonlocal edited
        if not edited:
            edited = True
            store.put_message(1, "new text")

    tg.on_send = edit
    await drain(sender(store, tg), store)
    # Every send whose check came after the edit has the new text; the check of the
    # first group may have been made before it.
    first_new = next(i for i, s in enumerate(tg.sent) if s.text == "new text")
    assert all(s.text == "new text" for s in tg.sent[first_new:])
    assert tg.sent[-1].text == "new text"


async def test_pause_stops_the_sends_and_resume_finishes_them() -> None:
    store, tg = setup(30)
    store.add_broadcast(11)
    s = sender(store, tg)
    paused = asyncio.Event()

    def pause_after_three(chat: str) -> None:
        if len(tg.attempts) == 3:
            store.broadcasts[10] = st.B_PAUSED
            paused.set()

    tg.on_send = pause_after_three
    task = asyncio.create_task(s.run())
    await asyncio.wait_for(paused.wait(), 10)
    # Wait until every claimed row is either sent or back in the queue.
    for _ in range(2000):
        if not any(r.status == st.SENDING for r in store.rows.values()) and not s.queue:
            break
        await asyncio.sleep(0.005)
    at_pause = len(tg.sent)
    assert any(r.status == st.IN_QUEUE for r in store.rows.values())
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert len(tg.sent) == at_pause, "sent while paused"
    tg.on_send = None
    store.broadcasts[10] = st.B_RUNNING  # resumed: the rest goes out
    s.wake()
    for _ in range(4000):
        if not store.pending:
            break
        await asyncio.sleep(0.005)
    s.stopping = True
    await asyncio.wait_for(task, 10)
    assert sorted(x.chat_id for x in tg.sent) == sorted(str(1000 + i) for i in range(30))


async def test_cancelled_broadcast_rows_are_cancelled_at_the_check() -> None:
    store, tg = setup(5)
    store.broadcasts[10] = st.B_CANCELLED
    # Claimed before the cancel: the check sees it.
    jobs = await store.claim(1, 10, 30, False)
    assert jobs == []  # a cancelled broadcast is not claimed...
    store.broadcasts[10] = st.B_RUNNING
    s = sender(store, tg)
    tg.on_send = lambda chat: store.broadcasts.__setitem__(10, st.B_CANCELLED)
    await drain(s, store)
    # ...and rows claimed before it are CANCELLED at their check, never sent.
    statuses = [r.status for r in store.rows.values()]
    assert statuses.count(st.DELIVERED) == len(tg.sent)
    assert statuses.count(st.DELIVERED) + statuses.count(st.CANCELLED) == 5


async def test_database_down_at_the_check_pauses_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, tg = setup(3)
    store.fail_checks = 3
    with caplog.at_level(logging.ERROR, "hushcast.worker"):
        await drain(sender(store, tg), store)
    assert {r.status for r in store.rows.values()} == {st.DELIVERED}
    failures = [r for r in caplog.records if "pre-send check failed" in r.getMessage()]
    assert len(failures) == 1  # logged once, not once per try


async def test_a_slow_outcome_write_holds_the_sends_back() -> None:
    """Sends whose outcome is not written are sent again after a crash: while the
    database does not take outcomes, the bot sends at most half a second more (492 at
    985/s), not on at full speed (about 1,000 in 1 s)."""
    store, tg = setup(1500)
    store.writes_open = asyncio.Event()
    running = asyncio.create_task(drain(sender(store, tg), store))
    await asyncio.sleep(1.0)
    held = len(tg.sent)
    store.writes_open.set()
    await running
    # Groups already checked when the limit was reached still go out (a few 10 ms
    # groups at this rate).
    assert 400 <= held <= 492 + 60, held
    assert len(tg.sent) == 1500
    assert {r.status for r in store.rows.values()} == {st.DELIVERED}


async def test_a_mute_with_an_end_in_the_past_does_not_stop_the_send() -> None:
    store, tg = setup(1)
    store.mute("1000", until=datetime(2000, 1, 1))
    await drain(sender(store, tg), store)
    assert store.by_token()["1000"].status == st.DELIVERED


async def test_click_links_are_rewritten_only_for_stored_literal_links() -> None:
    store, tg = setup()
    store.put_message(
        3,
        "Buttons",
        buttons=[
            {"text": "Shop", "link": "https://shop.example/sale"},
            {"text": "Yours", "link": "https://$data.get('host')/x"},
        ],
    )
    store.add_row("4000", 3, 10, json.dumps({"host": "evil.example"}))
    await drain(sender(store, tg), store)
    (sent,) = tg.sent
    assert sent.buttons is not None
    assert sent.buttons[0]["url"].startswith("http://hush.test/c/")
    assert sent.buttons[1]["url"] == "https://evil.example/x"


@pytest.mark.parametrize(("window_s", "reaches"), [(0.1, False), (60.0, True)])
async def test_a_mute_committed_after_a_check_older_than_the_window_stops_the_send(
    window_s: float, reaches: bool
) -> None:
    """The check passed, then rendering took longer than the window, and the chat was
    muted meanwhile: with the window (0.1 s) the send is checked again and stopped. The
    second case, a window longer than the render, shows the mute is otherwise missed."""
    store, tg = setup(1)
    store.load_delay_s = 0.15
    store.on_load = lambda: store.mute("1000")
    settings = SETTINGS.model_copy(update={"worker_check_window_s": window_s})
    s = AppSender(store, tg, settings, 1, "w1", secret=lambda: "s3cret")
    await drain(s, store)
    assert (tg.sent_to("1000") != []) is reaches
    assert len(store.checks) == (1 if reaches else 2)
    if not reaches:
        row = store.by_token()["1000"]
        assert (row.status, row.error_name) == (st.UNAVAILABLE, "CHANNEL_WAS_MUTED")
        assert s.rechecks == 1


async def test_a_recheck_with_nothing_changed_sends_each_row_once() -> None:
    store, tg = setup(3)
    store.load_delay_s = 0.15  # the compile is slower than the window
    s = sender(store, tg)
    await drain(s, store)
    assert s.rechecks >= 1
    assert len(store.checks) >= 2
    assert sorted(x.chat_id for x in tg.sent) == ["1000", "1001", "1002"]


async def test_slots_are_shared_and_all_given_back() -> None:
    """Two bots' senders on one worker-wide budget of 2 slots: never more than 2
    requests in flight together, and every slot comes back (sent, stopped, retried)."""
    from hushcast.delivery.slots import SendSlots

    slots = SendSlots(2)
    stores = []
    senders = []
    in_flight = peak = 0

    class Counting(InMemoryTelegram):
        """Counts the requests of both bots being answered at the same time."""

        async def _answer(self, *args: object, **kwargs: object) -> SendResult:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.002)
                return await super()._answer(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                in_flight -= 1

    for app in (1, 2):
        store, _ = setup(30)
        store.mute("1003")
        tg = Counting()
        tg.script("1005", SendResult(ok=False, error_code=500))
        stores.append(store)
        senders.append(AppSender(store, tg, SETTINGS, app, "w1", slots=slots))
    await asyncio.gather(*(drain(s, st_) for s, st_ in zip(senders, stores, strict=True)))
    assert peak == 2  # both slots were used, never more
    assert slots.used == 0
    for store in stores:
        assert store.by_token()["1003"].error_name == "CHANNEL_WAS_MUTED"
        assert store.by_token()["1005"].status == st.DELIVERED


# -- the frequency cap counts sends whose outcome is not written yet (delivery/caps.py) --


def capped_setup(cap: int = 1) -> tuple[InMemoryDeliveryStore, InMemoryTelegram]:
    """Two broadcasts of one bot to the same chat, under a cap of ``cap`` per period."""
    store, tg = setup()
    store.add_broadcast(11)
    store.add_row("1000", 1, 10)
    store.add_row("1000", 1, 11)
    store.cap = (cap, 86400)
    return store, tg


async def wait_until(predicate: Any, limit_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def drain_with_writes_held(
    store: InMemoryDeliveryStore, tg: InMemoryTelegram, until: Any
) -> AppSender:
    """Runs a sender with outcome writes held back until ``until()`` holds, then lets
    the writes through and drains."""
    store.writes_open = asyncio.Event()
    s = sender(store, tg)
    running = asyncio.create_task(drain(s, store))
    await wait_until(until)
    store.writes_open.set()
    await running
    return s


async def test_a_cap_counts_a_send_whose_outcome_is_not_written() -> None:
    """The first broadcast's send is delivered but not in the database yet (writes are
    held) when the second broadcast's row for the chat is checked: it is over the cap."""
    store, tg = capped_setup()
    store.writes_open = asyncio.Event()
    s = sender(store, tg)
    running = asyncio.create_task(drain(s, store))
    await wait_until(lambda: len(store.checks) >= 2 and not s.checks and not s.inflight)
    assert store.rows[1].status == st.SENDING  # its outcome is still unwritten
    store.writes_open.set()
    await running
    assert len(tg.sent_to("1000")) == 1
    assert (store.rows[2].status, store.rows[2].error_name) == (st.UNAVAILABLE, "FREQUENCY_CAP")
    assert len(s.caps) == 0  # forgotten once written


async def test_a_cap_of_two_lets_the_second_send_through() -> None:
    store, tg = capped_setup(cap=2)
    await drain_with_writes_held(store, tg, lambda: len(tg.sent) == 2)
    assert {r.status for r in store.rows.values()} == {st.DELIVERED}


async def test_a_failed_send_does_not_count_toward_the_cap() -> None:
    store, tg = capped_setup()
    tg.script("1000", SendResult(ok=False, error_code=400, description="Bad Request: nope"))
    await drain_with_writes_held(store, tg, lambda: len(tg.attempts) == 2)
    assert store.rows[1].status == st.ERROR
    assert store.rows[2].status == st.DELIVERED


async def test_a_written_send_is_counted_by_the_database_once() -> None:
    """Once its outcome is written the send is forgotten here and the store's count has
    it: the next check leaves nothing out of the count and still finds the cap reached."""
    store, tg = capped_setup()
    store.broadcasts[11] = st.B_PAUSED  # its row is claimed once the first is written
    s = sender(store, tg)
    running = asyncio.create_task(drain(s, store))
    await wait_until(lambda: store.rows[1].status == st.DELIVERED)
    store.broadcasts[11] = st.B_RUNNING
    await running
    assert [r.status for r in store.rows.values()] == [st.DELIVERED, st.UNAVAILABLE]
    assert len(s.caps) == 0
    assert store.counted_ids[-1] == frozenset()


async def test_a_recheck_does_not_count_the_row_itself() -> None:
    store, tg = setup(1)
    store.cap = (1, 86400)
    store.load_delay_s = 0.15  # the compile is slower than the window: checked again
    s = sender(store, tg)
    await drain(s, store)
    assert s.rechecks >= 1
    assert len(tg.sent_to("1000")) == 1
    assert store.counted_ids[-1] == frozenset({1})  # the recheck left the row out ...
    assert store.rows[1].status == st.DELIVERED  # ... and did not count it against itself


async def test_a_failed_recheck_returns_only_the_rows_still_to_send() -> None:
    """A group's first check settled its muted row (the outcome is in the outbox); the
    recheck of the others then failed (the database went away): only the others go
    back to the buffer, and the muted row is neither checked nor settled again."""
    store, tg = setup(1)  # the first group: one row (an idle pacer gives one slot)
    store.put_message(2, "Second")
    muted = store.add_row("1001", 2, 10)
    other = store.add_row("1002", 2, 10)
    store.mute("1001")
    loads = 0

    def on_load() -> None:
        nonlocal loads
        loads += 1
        if loads == 2:  # message 2, in the second group: slower to compile than the
            store.load_delay_s = 0.15  # 0.1 s check window, so a recheck follows,
            store.fail_checks = 1  # and that recheck fails

    store.on_load = on_load
    s = sender(store, tg)
    await drain(s, store)
    groups = [{i.id for i in check} for check in store.checks]
    assert {muted.id, other.id} in groups  # one group held both
    assert [muted.id in g for g in groups].count(True) == 1
    assert (muted.status, muted.error_name) == (st.UNAVAILABLE, "CHANNEL_WAS_MUTED")
    assert sorted(x.chat_id for x in tg.sent) == ["1000", "1002"]

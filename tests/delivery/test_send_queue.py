"""Which claimed rows go next (delivery/send_queue.py): transactional first, a chat that
is not ready waits aside, rows that come back go first."""

from __future__ import annotations

from hushcast.delivery import status as st
from hushcast.delivery.job import Job
from hushcast.delivery.ratelimit import ChatLimiter
from hushcast.delivery.send_queue import SendQueue


def job(row_id: int, token: str, broadcast: bool = True) -> Job:
    return Job(
        id=row_id,
        kind=st.KIND_BROADCAST if broadcast else st.KIND_SMARTSEND,
        token=token,
        contact_id=None,
        message_id=1,
        json_param=None,
        broadcast_id=10 if broadcast else None,
        attempts=0,
    )


def queue(private_per_s: float = 1.0, group_per_minute: float = 20.0) -> SendQueue:
    return SendQueue(ChatLimiter(private_per_s, group_per_minute))


def ids(jobs: list[Job]) -> list[int]:
    return [j.id for j in jobs]


def test_transactional_rows_go_before_the_broadcast_rows_already_held() -> None:
    q = queue()
    q.add_claimed([job(1, "1"), job(2, "2")])
    q.add_claimed([job(3, "3"), job(4, "4", broadcast=False), job(5, "5", broadcast=False)])
    assert ids(q.take(10, 0.0)) == [4, 5, 1, 2, 3]
    assert len(q) == 0


def test_a_second_row_for_the_same_chat_waits_until_the_chat_is_ready() -> None:
    q = queue(private_per_s=1.0)
    q.add_claimed([job(1, "7"), job(2, "7"), job(3, "8")])
    assert ids(q.take(10, 0.0)) == [1, 3]
    assert len(q) == 0 and q.next_ready_at() == 1.0
    q.release_ready(0.5)
    assert len(q) == 0, "released before its chat was ready"
    q.add_claimed([job(4, "9")])
    q.release_ready(1.0)
    # The row that waited goes first, before what was claimed meanwhile.
    assert ids(q.take(10, 1.0)) == [2, 4]
    assert q.next_ready_at() is None


def test_a_group_chat_waits_for_its_per_minute_limit() -> None:
    q = queue(group_per_minute=2)
    q.add_claimed([job(i, "-100") for i in range(1, 4)])
    assert ids(q.take(10, 0.0)) == [1, 2]
    assert q.next_ready_at() == 60.0


def test_a_group_holds_at_most_n_rows_and_skipped_rows_do_not_count() -> None:
    q = queue()
    q.add_claimed([job(1, "7"), job(2, "7"), job(3, "8"), job(4, "9")])
    assert ids(q.take(2, 0.0)) == [1, 3]
    assert ids(q.take(2, 0.0)) == [4]


def test_rows_put_back_go_first_in_their_order() -> None:
    q = queue()
    q.add_claimed([job(1, "1"), job(2, "2")])
    q.put_back([job(3, "3"), job(4, "4")])
    q.put_back_one(job(5, "5"))
    assert ids(q.take(10, 0.0)) == [5, 3, 4, 1, 2]


def test_drain_returns_ready_and_waiting_rows_and_empties_the_queue() -> None:
    q = queue()
    q.add_claimed([job(1, "7"), job(2, "7"), job(3, "8")])
    q.take(1, 0.0)  # row 1 goes; row 2 is not taken yet
    q.take(1, 0.0)  # row 2 waits for its chat, row 3 goes
    q.add_claimed([job(4, "9")])
    assert sorted(ids(q.drain())) == [2, 4]
    assert len(q) == 0 and q.next_ready_at() is None

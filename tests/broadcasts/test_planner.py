"""The planner: audience, batches, resumability, due and finish; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update

from hushcast.broadcasts import planner
from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import app_tokens
from hushcast.core.db import Database
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from tests.support.broadcasts import (
    NOW,
    add_group,
    app_id,
    connect_bot,
    contact_id,
    deactivate,
    delivery_rows,
    new_broadcast,
    org_id,
    plan_all,
    queued,
    register,
)


class Crash(Exception):
    pass


def broadcast_row(db: Database, broadcast_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)).one()


def test_whole_audience_one_batch(client: TestClient, db: Database, ten: str) -> None:
    deactivate(db, ten, ["@tok3", "@tok7"])
    bid = new_broadcast(client, db, ten)
    assert plan_all(db, bid) == [True]
    rows = {r.token: r for r in delivery_rows(db, broadcast_id=bid)}
    assert sorted(rows) == sorted(f"@tok{i}" for i in range(1, 11))
    b = broadcast_row(db, bid)
    for token, r in rows.items():
        assert r.organization_id == org_id(db)
        assert r.app_id == app_id(db, ten)
        assert r.message_id == b.message_id
        assert r.kind == st.KIND_BROADCAST
        assert r.priority == st.PRIORITY_BROADCAST
        assert r.contact_id == contact_id(db, "c" + token.removeprefix("@tok"))
        assert r.attempts == 0
        assert r.created_at == NOW and r.available_at == NOW
        assert r.request_id is None
        if token in ("@tok3", "@tok7"):
            assert (r.status, r.error_type, r.error_name) == (
                st.UNAVAILABLE,
                st.OTHER_ERRORS,
                st.TOKEN_INACTIVE,
            )
            assert r.finished_at == NOW
        else:
            assert (r.status, r.error_type, r.error_name, r.finished_at) == (
                st.IN_QUEUE,
                None,
                None,
                None,
            )
    assert b.status == st.B_RUNNING
    assert b.started_at == NOW and b.planned_at == NOW
    assert b.total_recipients == 10
    view = client.get(f"/v1/broadcast/{bid}").json()
    assert view["totalContacts"] == 10 and view["inQueue"] == 8 and view["unavailable"] == 2


def test_groups_and_excluded_groups(client: TestClient, db: Database, ten: str) -> None:
    c = {i: contact_id(db, f"c{i}") for i in range(1, 11)}
    # c2 has a second token for this bot: one recipient per token.
    register(client, ten, [("@tok2b", "c2")])
    a = add_group(db, [c[1], c[2], c[3]])
    b = add_group(db, [c[3], c[4]])
    empty = add_group(db, [])

    both = new_broadcast(client, db, ten, groups=[a, b])
    plan_all(db, both)
    assert sorted(queued(db, both)) == ["@tok1", "@tok2", "@tok2b", "@tok3", "@tok4"]

    minus = new_broadcast(client, db, ten, groups=[a], excludedGroups=[b])
    plan_all(db, minus)
    assert sorted(queued(db, minus)) == ["@tok1", "@tok2", "@tok2b"]

    all_but = new_broadcast(client, db, ten, excludedGroups=[b, empty])
    plan_all(db, all_but)
    assert sorted(queued(db, all_but)) == sorted(
        ["@tok1", "@tok2", "@tok2b"] + [f"@tok{i}" for i in range(5, 11)]
    )

    nobody = new_broadcast(client, db, ten, groups=[empty])
    assert plan_all(db, nobody) == [True]
    assert queued(db, nobody) == {}
    assert broadcast_row(db, nobody).total_recipients == 0


def test_batches_give_the_same_result_as_one(client: TestClient, db: Database, ten: str) -> None:
    deactivate(db, ten, ["@tok5"])
    g = add_group(db, [contact_id(db, f"c{i}") for i in (1, 2, 4, 5, 8, 9, 10)])
    ex = add_group(db, [contact_id(db, "c9")])
    one = new_broadcast(client, db, ten, groups=[g], excludedGroups=[ex])
    many = new_broadcast(client, db, ten, groups=[g], excludedGroups=[ex])
    assert plan_all(db, one) == [True]
    # 10 tokens by 3: 3 + 3 + 3 + 1, the last batch reaches the end.
    assert plan_all(db, many, batch_size=3) == [False, False, False, True]
    assert queued(db, many) == queued(db, one)
    assert len(queued(db, many)) == 6
    assert queued(db, many)["@tok5"] == st.UNAVAILABLE
    b = broadcast_row(db, many)
    assert b.total_recipients == 6 and b.planned_at == NOW
    with db.read() as conn:
        last_token = conn.execute(
            select(func.max(app_tokens.c.id)).where(app_tokens.c.app_id == app_id(db, ten))
        ).scalar_one()
    assert b.plan_cursor == last_token
    # Planning again after completion adds nothing.
    with db.transaction() as conn:
        assert planner.plan_batch(conn, many, NOW, 3) is True
    assert len(delivery_rows(db, broadcast_id=many)) == 6


def test_batch_cursor_moves_by_token_ids(client: TestClient, db: Database, ten: str) -> None:
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        assert planner.plan_batch(conn, bid, NOW, 4) is False
    assert sorted(queued(db, bid)) == ["@tok1", "@tok2", "@tok3", "@tok4"]
    b = broadcast_row(db, bid)
    assert b.status == st.B_RUNNING and b.planned_at is None
    assert b.total_recipients == 4  # counted batch by batch, final once planned_at is set
    assert b.plan_cursor is not None
    # Exactly divisible: the third call is an empty batch that reaches the end.
    later = NOW + timedelta(minutes=1)
    with db.transaction() as conn:
        assert planner.plan_batch(conn, bid, later, 4) is False
        assert planner.plan_batch(conn, bid, later, 2) is False
        assert planner.plan_batch(conn, bid, later, 2) is True
    assert len(queued(db, bid)) == 10
    b = broadcast_row(db, bid)
    assert b.started_at == NOW  # set by the first batch only
    assert b.planned_at == later


def test_crash_mid_planning_does_not_duplicate(client: TestClient, db: Database, ten: str) -> None:
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        assert planner.plan_batch(conn, bid, NOW, 3) is False
    # The next batch is queued but its transaction never commits.
    with pytest.raises(Crash), db.transaction() as conn:
        assert planner.plan_batch(conn, bid, NOW, 3) is False
        raise Crash
    assert len(queued(db, bid)) == 3
    # A fresh worker picks it up (RUNNING, not planned) and finishes the job.
    with db.read() as conn:
        assert [int(r.id) for r in planner.due_broadcasts(conn, app_id(db, ten), NOW)] == [bid]
    plan_all(db, bid, batch_size=3)
    assert sorted(queued(db, bid)) == sorted(f"@tok{i}" for i in range(1, 11))
    assert broadcast_row(db, bid).total_recipients == 10


def test_tokens_registered_during_planning_are_included(
    client: TestClient, db: Database, ten: str
) -> None:
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        planner.plan_batch(conn, bid, NOW, 5)
    register(client, ten, [("@late_one", "c-late")])
    plan_all(db, bid, batch_size=5)
    assert "@late_one" in queued(db, bid) and len(queued(db, bid)) == 11


def set_broadcast(db: Database, broadcast_id: int, **values: Any) -> None:
    with db.transaction() as conn:
        conn.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id).values(**values))


def test_due_broadcasts(client: TestClient, db: Database, ten: str, fake_telegram: Any) -> None:
    aid = app_id(db, ten)
    past = new_broadcast(client, db, ten, startDate="2030-05-06T07:08")
    exact = new_broadcast(client, db, ten, startDate="2030-05-06T07:08:09")
    future = new_broadcast(client, db, ten, startDate="2030-05-06T07:09")
    interrupted = new_broadcast(client, db, ten, startDate="2031-01-01T00:00")
    set_broadcast(db, interrupted, status=st.B_RUNNING, started_at=NOW)
    planned = new_broadcast(client, db, ten, startDate="2030-01-01T00:00")
    set_broadcast(db, planned, status=st.B_RUNNING, planned_at=NOW)
    paused = new_broadcast(client, db, ten, startDate="2030-01-01T00:00")
    set_broadcast(db, paused, status=st.B_PAUSED)
    other_bot = connect_bot(client, fake_telegram)
    new_broadcast(client, db, other_bot, startDate="2030-01-01T00:00")
    with db.read() as conn:
        due = planner.due_broadcasts(conn, aid, NOW)
        assert [int(r.id) for r in due] == [past, exact, interrupted]
        assert due[0].status == st.B_SCHEDULED
        later = planner.due_broadcasts(conn, aid, NOW + timedelta(minutes=1))
        assert [int(r.id) for r in later] == [past, exact, future, interrupted]
        assert planner.running_broadcast_ids(conn, aid) == [interrupted, planned]


def test_paused_or_cancelled_broadcast_is_not_planned(
    client: TestClient, db: Database, ten: str
) -> None:
    paused = new_broadcast(client, db, ten)
    assert client.post(f"/v1/broadcast/{paused}/pause").status_code == 200
    cancelled = new_broadcast(client, db, ten)
    assert client.delete(f"/v1/broadcast/{cancelled}").status_code == 200
    with db.transaction() as conn:
        assert planner.plan_batch(conn, paused, NOW) is True
        assert planner.plan_batch(conn, cancelled, NOW) is True
        assert planner.plan_batch(conn, 987654, NOW) is True
    assert delivery_rows(db) == []
    assert broadcast_row(db, paused).status == st.B_PAUSED
    assert broadcast_row(db, cancelled).status == st.B_CANCELLED


def test_finish_if_done(client: TestClient, db: Database, ten: str) -> None:
    deactivate(db, ten, ["@tok1"])
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        # Not started: nothing to finish.
        assert planner.finish_if_done(conn, bid, NOW) is False
        assert planner.plan_batch(conn, bid, NOW, 5) is False
        # Running but planning is not complete, even with nothing pending for a moment.
        conn.execute(
            update(deliveries).where(deliveries.c.broadcast_id == bid).values(status=st.DELIVERED)
        )
        assert planner.finish_if_done(conn, bid, NOW) is False
    plan_all(db, bid)
    later = NOW + timedelta(hours=1)
    with db.transaction() as conn:
        assert planner.finish_if_done(conn, bid, later) is False  # rows IN_QUEUE
        conn.execute(
            update(deliveries)
            .where(deliveries.c.broadcast_id == bid, deliveries.c.token == "@tok9")
            .values(status=st.SENDING)
        )
        conn.execute(
            update(deliveries)
            .where(deliveries.c.broadcast_id == bid, deliveries.c.status == st.IN_QUEUE)
            .values(status=st.ERROR)
        )
        assert planner.finish_if_done(conn, bid, later) is False  # one SENDING
        conn.execute(
            update(deliveries)
            .where(deliveries.c.broadcast_id == bid, deliveries.c.token == "@tok9")
            .values(status=st.DELIVERED)
        )
        assert planner.finish_if_done(conn, bid, later) is True
        assert planner.finish_if_done(conn, bid, later) is False
        assert planner.running_broadcast_ids(conn, app_id(db, ten)) == []
    b = broadcast_row(db, bid)
    assert b.status == st.B_FINISHED and b.finished_at == later
    assert client.delete(f"/v1/broadcast/{bid}").status_code == 409


def test_empty_audience_finishes(client: TestClient, db: Database, app_uuid: str) -> None:
    bid = new_broadcast(client, db, app_uuid)
    assert plan_all(db, bid, batch_size=3) == [True]
    with db.transaction() as conn:
        assert planner.finish_if_done(conn, bid, NOW) is True
    assert client.get(f"/v1/broadcast/{bid}").json()["status"] == "FINISHED"


def test_paused_running_broadcast_resumes_planning(
    client: TestClient, db: Database, ten: str
) -> None:
    bid = new_broadcast(client, db, ten)
    with db.transaction() as conn:
        planner.plan_batch(conn, bid, NOW, 4)
    assert client.post(f"/v1/broadcast/{bid}/pause").status_code == 200
    with db.read() as conn:
        assert planner.due_broadcasts(conn, app_id(db, ten), NOW) == []
    assert client.post(f"/v1/broadcast/{bid}/resume").json()["status"] == "RUNNING"
    with db.read() as conn:
        assert [r.id for r in planner.due_broadcasts(conn, app_id(db, ten), NOW)] == [bid]
    plan_all(db, bid, batch_size=4)
    assert len(queued(db, bid)) == 10


def test_a_batch_is_a_fixed_number_of_set_based_statements(
    client: TestClient, db: Database, ten: str
) -> None:
    bid = new_broadcast(client, db, ten)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.transaction() as conn:
            assert planner.plan_batch(conn, bid, NOW) is True
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    inserts = [s for s in statements if s.startswith("INSERT INTO DELIVERIES")]
    assert len(inserts) == 1 and "SELECT" in inserts[0] and "FROM APP_TOKENS" in inserts[0]
    # Independent of the audience size: lock, wait for token writers (PostgreSQL), bound,
    # insert, max, count, update, status.
    assert len(statements) <= 9, statements
    assert len(queued(db, bid)) == 10

"""Parked rows on SQLite and PostgreSQL: released by a mute change, by their moment, never
another bot's; a chat muted again between its release and its send is held again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import decide, holds
from hushcast.delivery import status as st
from hushcast.delivery.decide import Action
from hushcast.delivery.job import Job
from hushcast.delivery.models import deliveries
from hushcast.delivery.store import CheckItem, SqlDeliveryStore
from tests.support.broadcasts import add_delivery, add_message, app_id, connect_bot


def _hold_broadcast(client: TestClient, db: Database, app_uuid: str) -> tuple[int, int]:
    mid = add_message(db)
    r = client.post(
        "/v1/broadcast", json={"messageId": mid, "appId": app_uuid, "mutePolicy": "hold"}
    )
    assert r.status_code == 200, r.text
    return int(r.json()["broadcastId"]), mid


def _park(db: Database, rid: int, status: str, at_offset: timedelta) -> None:
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == rid)
            .values(status=status, available_at=utcnow() + at_offset)
        )


def _status(db: Database, rid: int) -> str:
    with db.read() as conn:
        return str(
            conn.execute(select(deliveries.c.status).where(deliveries.c.id == rid)).scalar_one()
        )


def _held_by_two_bots(
    client: TestClient, db: Database, app_uuid: str, fake_telegram: Any, chat: str, hours: int
) -> tuple[int, int]:
    """A held row for ``chat`` of this bot's broadcast and one of another bot's, held for
    ``hours``: (this bot's row, the other's)."""
    bid, mid = _hold_broadcast(client, db, app_uuid)
    other_app = connect_bot(client, fake_telegram)
    other_bid, other_mid = _hold_broadcast(client, db, other_app)
    mine = add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token=chat, status=st.IN_QUEUE, broadcast_id=bid
    )
    theirs = add_delivery(
        db,
        app_uuid=other_app,
        message_id=other_mid,
        token=chat,
        status=st.IN_QUEUE,
        broadcast_id=other_bid,
    )
    for rid in (mine, theirs):
        _park(db, rid, st.HELD, timedelta(hours=hours))
    return mine, theirs


def test_unmute_releases_only_that_bots_held_rows(
    client: TestClient, db: Database, app_uuid: str, fake_telegram: Any
) -> None:
    mine, theirs = _held_by_two_bots(client, db, app_uuid, fake_telegram, "42", hours=1)
    r = client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "42"})
    assert r.status_code == 200
    assert (_status(db, mine), _status(db, theirs)) == (st.IN_QUEUE, st.HELD)


def test_a_mute_that_replaces_a_longer_one_releases_only_that_bots_held_rows(
    client: TestClient, db: Database, app_uuid: str, fake_telegram: Any
) -> None:
    """The API's mute releases held rows in its own statement on PostgreSQL
    (mute/repository.py): the chat's rows of this bot come back, another bot's held rows
    of the same chat id stay, and a mute of an app the organisation does not have
    releases nothing."""
    mine, theirs = _held_by_two_bots(client, db, app_uuid, fake_telegram, "43", hours=24)
    unknown = "00000000-0000-4000-8000-000000000000"
    r = client.post(f"/v1/apps/{unknown}/token/mute", json={"token": "43", "duration": 60})
    assert r.status_code == 404
    assert (_status(db, mine), _status(db, theirs)) == (st.HELD, st.HELD)
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": ["43"], "duration": 60})
    assert r.status_code == 200, r.text
    assert (_status(db, mine), _status(db, theirs)) == (st.IN_QUEUE, st.HELD)


def test_release_due_wakes_only_rows_whose_moment_came(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    bid, mid = _hold_broadcast(client, db, app_uuid)
    rows = {
        name: add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=name, status=st.IN_QUEUE, broadcast_id=bid
        )
        for name in ("held-due", "held-later", "waiting-due", "waiting-later")
    }
    _park(db, rows["held-due"], st.HELD, timedelta(seconds=-1))
    _park(db, rows["held-later"], st.HELD, timedelta(hours=1))
    _park(db, rows["waiting-due"], st.WAITING, timedelta(seconds=-1))
    _park(db, rows["waiting-later"], st.WAITING, timedelta(hours=1))
    with db.transaction() as conn:
        assert holds.release_due(conn, app_id(db, app_uuid), utcnow()) == 2
    assert {n: _status(db, rid) for n, rid in rows.items()} == {
        "held-due": st.IN_QUEUE,
        "held-later": st.HELD,
        "waiting-due": st.IN_QUEUE,
        "waiting-later": st.WAITING,
    }


def test_a_chat_muted_again_after_its_release_is_held_again(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    bid, mid = _hold_broadcast(client, db, app_uuid)
    rid = add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="77", status=st.IN_QUEUE, broadcast_id=bid
    )
    mute = f"/v1/apps/{app_uuid}/token/mute"
    assert client.post(mute, json={"token": "77"}).status_code == 200
    _park(db, rid, st.HELD, timedelta(hours=24))
    assert client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "77"}).status_code == 200
    assert _status(db, rid) == st.IN_QUEUE  # released ...
    assert client.post(mute, json={"token": "77", "duration": 600}).status_code == 200
    # ... and muted again before the worker sent it: the pre-send check holds it again,
    # until the new mute's end.
    with db.transaction() as conn:  # running, as planning leaves it (no worker here)
        conn.execute(update(broadcasts).where(broadcasts.c.id == bid).values(status=st.B_RUNNING))
    aid = app_id(db, app_uuid)
    state = asyncio.run(SqlDeliveryStore(db).pre_send_state(aid, [CheckItem(rid, "77")]))[rid]
    assert state.facts is not None and state.facts.mute_policy == "hold"
    job = Job(
        id=rid,
        kind=st.KIND_BROADCAST,
        token="77",
        contact_id=None,
        message_id=mid,
        json_param=None,
        broadcast_id=bid,
        attempts=0,
    )
    assert state.broadcast_status == st.B_RUNNING
    d = decide.before_send(job, state)
    assert (d.action, d.status) == (Action.PARK, st.HELD)
    assert d.until is not None and state.muted_until is not None
    assert d.until == state.muted_until


def test_release_due_is_bounded_per_sweep(client: TestClient, db: Database, app_uuid: str) -> None:
    bid, mid = _hold_broadcast(client, db, app_uuid)
    for token in ("a", "b", "c"):
        rid = add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=token, status=st.IN_QUEUE, broadcast_id=bid
        )
        _park(db, rid, st.WAITING, timedelta(seconds=-1))
    aid = app_id(db, app_uuid)
    with db.transaction() as conn:
        assert holds.release_due(conn, aid, utcnow(), limit=2) == 2
    with db.transaction() as conn:
        assert holds.release_due(conn, aid, utcnow(), limit=2) == 1


def test_held_rows_follow_a_group_migration_to_the_new_chat_id(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    # A group's rows were held while it was muted; Telegram then says it became the
    # supergroup -1005 (its token and mute move there). Unmuting -1005 must release
    # them: they were held for that chat.
    bid, mid = _hold_broadcast(client, db, app_uuid)
    both_bid, both_mid = _hold_broadcast(client, db, app_uuid)
    held = add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="-5", status=st.IN_QUEUE, broadcast_id=bid
    )
    # A broadcast that already has a row for the new id keeps its old row as it was.
    stays = add_delivery(
        db,
        app_uuid=app_uuid,
        message_id=both_mid,
        token="-5",
        status=st.IN_QUEUE,
        broadcast_id=both_bid,
    )
    add_delivery(
        db,
        app_uuid=app_uuid,
        message_id=both_mid,
        token="-1005",
        status=st.IN_QUEUE,
        broadcast_id=both_bid,
    )
    # Muted, then held (a mute releases the chat's held rows to be looked at again).
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "-5"})
    assert r.status_code == 200, r.text
    for rid in (held, stays):
        _park(db, rid, st.HELD, timedelta(hours=1))

    asyncio.run(SqlDeliveryStore(db).migrate_token(app_id(db, app_uuid), "-5", "-1005"))
    r = client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "-1005"})
    assert r.status_code == 200, r.text

    with db.read() as conn:
        rows = {
            r.id: (r.token, r.status)
            for r in conn.execute(
                select(deliveries.c.id, deliveries.c.token, deliveries.c.status).where(
                    deliveries.c.id.in_([held, stays])
                )
            )
        }
    assert rows == {held: ("-1005", st.IN_QUEUE), stays: ("-5", st.HELD)}

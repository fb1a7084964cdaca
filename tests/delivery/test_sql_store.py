"""The SQL DeliveryStore on SQLite and PostgreSQL: the pre-send check reads the chat id
a row goes to, the outcome flush survives rows the database refuses."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from hushcast.delivery import status as st
from hushcast.delivery.job import Job, outcome
from hushcast.delivery.outbox import Outbox
from hushcast.delivery.store import CheckItem, SqlDeliveryStore
from tests.support.broadcasts import add_delivery, add_message, app_id, delivery_rows
from tests.support.service import new_bot_token

NOW = datetime(2030, 1, 1)


def broadcast(client: TestClient, db: Database, app_uuid: str) -> tuple[int, int]:
    mid = add_message(db)
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid})
    assert r.status_code == 200, r.text
    bid = int(r.json()["broadcastId"])
    client.post(f"/v1/broadcast/{bid}/pause")  # keep the worker-less broadcast still
    return bid, mid


def row(db: Database, app_uuid: str, bid: int, mid: int, token: str) -> int:
    return add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token=token, status=st.SENDING, broadcast_id=bid
    )


def test_pre_send_state_is_read_for_the_chat_id_given(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    bid, mid = broadcast(client, db, app_uuid)
    rid = row(db, app_uuid, bid, mid, "-5")
    other = row(db, app_uuid, bid, mid, "-1007")
    assert client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "-1005"}).status_code < 300
    store = SqlDeliveryStore(db)
    aid = app_id(db, app_uuid)

    async def check(items: list[CheckItem]) -> Any:
        return await store.pre_send_state(aid, items)

    stored = asyncio.run(check([CheckItem(rid, "-5")]))[rid]
    moved = asyncio.run(check([CheckItem(rid, "-1005", moved=True)]))[rid]
    onto_other = asyncio.run(check([CheckItem(rid, "-1007", moved=True)]))[rid]
    assert stored.muted_until is None and not stored.duplicate
    assert moved.muted_until is not None and not moved.duplicate
    assert onto_other.duplicate
    assert stored.broadcast_status == st.B_PAUSED
    assert isinstance(stored.message_version, datetime)
    assert other in asyncio.run(check([CheckItem(other, "-1007")]))


def _job(rid: int, token: str, bid: int, mid: int) -> Job:
    return Job(
        id=rid,
        kind=st.KIND_BROADCAST,
        token=token,
        contact_id=None,
        message_id=mid,
        json_param=None,
        broadcast_id=bid,
        attempts=0,
    )


def test_outcome_batch_with_a_refused_row_is_split_and_the_rest_written(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    bid, mid = broadcast(client, db, app_uuid)
    ids = [row(db, app_uuid, bid, mid, str(9000 + i)) for i in range(6)]
    box = Outbox(SqlDeliveryStore(db), app_id(db, app_uuid))
    for i, rid in enumerate(ids[:4]):
        box.add(outcome(_job(rid, str(9000 + i), bid, mid), st.DELIVERED, NOW, message_id=i + 1))
    # A description as it came from a renderer (NUL and all), not cleaned: PostgreSQL
    # refuses it in text. And a row moved onto a chat its broadcast already has (the
    # unique index refuses it on both databases).
    raw = outcome(_job(ids[4], "9004", bid, mid), st.ERROR, NOW, error_name=st.TEMPLATE_ERROR)
    raw["b_description"] = "bad\x00template"
    box.add(raw)
    moved = _job(ids[5], "9000", bid, mid)
    moved.stored_token = "9005"
    box.add(outcome(moved, st.DELIVERED, NOW, message_id=99), stored_token="9005")
    assert asyncio.run(box.flush()) is True
    rows = {r.id: r for r in delivery_rows(db, broadcast_id=bid)}
    assert [rows[i].status for i in ids[:4]] == [st.DELIVERED] * 4
    assert rows[ids[4]].status == st.ERROR  # recorded (SQLite stores NUL; PostgreSQL not)
    if not db.is_sqlite:
        assert "\x00" not in (rows[ids[4]].description or "")
    assert (rows[ids[5]].status, rows[ids[5]].token) == (st.DELIVERED, "9005")
    assert box.dropped == 0


def test_every_outcome_field_is_stored_as_given(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    # The batch travels as one JSON value on PostgreSQL: texts that JSON escapes
    # (quotes, backslashes, newlines, tabs, non-ASCII, emoji), None, large ids and
    # timestamps with and without microseconds come back exactly.
    bid, mid = broadcast(client, db, app_uuid)
    ids = [row(db, app_uuid, bid, mid, str(9100 + i)) for i in range(3)]
    at = datetime(2030, 1, 2, 3, 4, 5, 678901)
    later = datetime(2030, 1, 2, 3, 4, 6)
    text = 'Bad "request": chat\\not found\n\tä — 𝔘 😀 <b>&amp;</b> %s {} \\u0041'
    failed = _job(ids[0], "9100", bid, mid)
    failed.attempts = 3
    retried = _job(ids[1], "9101", bid, mid)
    retried.attempts = 1
    moved = _job(ids[2], "-1009100", bid, mid)
    moved.stored_token = "9102"
    box = Outbox(SqlDeliveryStore(db), app_id(db, app_uuid))
    box.add(outcome(failed, st.ERROR, at, error_type=st.ERRORS, error_name="E", description=text))
    box.add(outcome(retried, st.IN_QUEUE, at, available_at=later))
    box.add(outcome(moved, st.DELIVERED, at, message_id=2**62 + 7), stored_token=moved.stored_token)
    assert asyncio.run(box.flush()) is True
    rows = {r.id: r for r in delivery_rows(db, broadcast_id=bid)}
    first, second, third = (rows[i] for i in ids)
    assert (first.status, first.error_type, first.error_name) == (st.ERROR, st.ERRORS, "E")
    assert first.description == text
    assert (first.attempts, first.finished_at, first.available_at) == (3, at, at)
    assert first.telegram_message_id is None and first.lease_until is None
    assert (second.status, second.available_at, second.finished_at) == (st.IN_QUEUE, later, None)
    assert second.description is None and second.error_name is None
    assert (third.status, third.telegram_message_id, third.token) == (
        st.DELIVERED,
        2**62 + 7,
        "-1009100",
    )


def test_a_migration_moves_the_rows_still_waiting_for_the_old_chat(
    client: TestClient, db: Database, app_uuid: str, fake_telegram: Any
) -> None:
    """Rows of other broadcasts and transactional sends queued or waiting for the group
    go to its new id (no request to the old id first); a broadcast that already has the new id keeps its old
    row, and a row already claimed is left to the sender that holds it."""
    first, m1 = broadcast(client, db, app_uuid)
    second, m2 = broadcast(client, db, app_uuid)
    third, m3 = broadcast(client, db, app_uuid)
    fourth, m4 = broadcast(client, db, app_uuid)

    def add(bid: int, mid: int, token: str, status: str) -> int:
        return add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=token, status=status, broadcast_id=bid
        )

    claimed = add(first, m1, "-5", st.SENDING)
    queued = add(second, m2, "-5", st.IN_QUEUE)
    stays = add(third, m3, "-5", st.WAITING)
    add(third, m3, "-1005", st.IN_QUEUE)
    waiting = add(fourth, m4, "-5", st.WAITING)
    other_chat = add(first, m1, "-7", st.IN_QUEUE)
    # Transactional sends to the group: queued and waiting move, a claimed one stays;
    # another bot's send to the same chat id is not this migration's.
    tx_queued = add_delivery(db, app_uuid=app_uuid, message_id=m1, token="-5", status=st.IN_QUEUE)
    tx_waiting = add_delivery(db, app_uuid=app_uuid, message_id=m1, token="-5", status=st.WAITING)
    tx_claimed = add_delivery(db, app_uuid=app_uuid, message_id=m1, token="-5", status=st.SENDING)
    r = client.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram), "name": "Other"})
    assert r.status_code == 201, r.text
    other_bot = add_delivery(
        db, app_uuid=r.json()["appUuid"], message_id=m1, token="-5", status=st.IN_QUEUE
    )
    asyncio.run(SqlDeliveryStore(db).migrate_token(app_id(db, app_uuid), "-5", "-1005"))
    tokens = {r.id: r.token for r in delivery_rows(db)}
    assert tokens[queued] == tokens[waiting] == "-1005"
    assert tokens[tx_queued] == tokens[tx_waiting] == "-1005"
    assert tokens[stays] == "-5"
    assert tokens[claimed] == tokens[tx_claimed] == "-5"
    assert tokens[other_chat] == "-7"
    assert tokens[other_bot] == "-5"

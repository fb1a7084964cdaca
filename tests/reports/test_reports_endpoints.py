"""Reports: broadcast counters and contact buckets (JSON pages and streamed CSV), the single
report of transactional and test sends, per-message totals; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import contacts
from hushcast.core.db import Database
from hushcast.core.timeutil import iso, utcnow
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.reports import service as report_service
from tests.support.service import bearer, new_bot_token

T0 = datetime(2024, 5, 1, 12, 0, 0)
_tokens = itertools.count(100_000)


@dataclass
class Setup:
    org_id: int
    app_id: int
    app_uuid: str
    message_id: int
    broadcast_id: int


def create_message(client: TestClient, name: str = "Spring sale", key: str | None = None) -> int:
    headers = bearer(key) if key else None
    r = client.post("/v1/messages/telegram", json={"name": name, "text": "Hi"}, headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def create_broadcast(
    client: TestClient, message_id: int, app_uuid: str, key: str | None = None
) -> int:
    headers = bearer(key) if key else None
    r = client.post(
        "/v1/broadcast", json={"messageId": message_id, "appId": app_uuid}, headers=headers
    )
    assert r.status_code == 200, r.text
    return int(r.json()["broadcastId"])


def make_setup(client: TestClient, db: Database, app_uuid: str, key: str | None = None) -> Setup:
    mid = create_message(client, key=key)
    bid = create_broadcast(client, mid, app_uuid, key=key)
    with db.read() as conn:
        app = conn.execute(
            select(apps.c.id, apps.c.organization_id).where(apps.c.uuid == app_uuid)
        ).one()
    return Setup(int(app.organization_id), int(app.id), app_uuid, mid, bid)


@pytest.fixture
def s(client: TestClient, db: Database, app_uuid: str) -> Setup:
    return make_setup(client, db, app_uuid)


def row(
    s: Setup,
    status: str,
    error_name: str | None = None,
    *,
    broadcast: bool = True,
    kind: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One deliveries row of the setup's broadcast (or, broadcast=False, a smartsend)."""
    error_type = None
    if status == st.UNAVAILABLE:
        error_type = st.OTHER_ERRORS
    elif status == st.ERROR:
        error_type = st.ERRORS
    finished = T0 + timedelta(minutes=5) if status in st.FINAL_STATUSES else None
    values: dict[str, Any] = {
        "organization_id": s.org_id,
        "app_id": s.app_id,
        "broadcast_id": s.broadcast_id if broadcast else None,
        "message_id": s.message_id,
        "kind": kind or (st.KIND_BROADCAST if broadcast else st.KIND_SMARTSEND),
        "priority": st.PRIORITY_BROADCAST if broadcast else st.PRIORITY_TRANSACTIONAL,
        "token": str(next(_tokens)),
        "contact_id": None,
        "request_id": None if broadcast else str(uuid.uuid4()),
        "external_request_id": None,
        "json_param": None,
        "status": status,
        "error_type": error_type,
        "error_name": error_name,
        "description": None,
        "attempts": 0,
        "available_at": T0,
        "lease_until": None,
        "telegram_message_id": None,
        "created_at": T0,
        "finished_at": finished,
        "clicked_at": T0 + timedelta(minutes=9) if status == st.CLICKED else None,
    }
    values.update(extra)
    return values


def insert_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    """One executemany."""
    with db.transaction() as conn:
        conn.execute(insert(deliveries), rows)


def mixed_rows(s: Setup) -> list[dict[str, Any]]:
    return [
        row(s, st.IN_QUEUE),
        row(s, st.IN_QUEUE),
        row(s, st.SENDING),
        row(s, st.DELIVERED),
        row(s, st.DELIVERED),
        row(s, st.DELIVERED),
        row(s, st.CLICKED),
        row(s, st.CLICKED),
        row(s, st.UNAVAILABLE, st.CHANNEL_WAS_MUTED),
        row(s, st.UNAVAILABLE, st.CHANNEL_WAS_MUTED),
        row(s, st.UNAVAILABLE, st.TOKEN_INACTIVE),
        row(s, st.ERROR, st.BOT_SEND_ERROR, description="Forbidden: bot was blocked by the user"),
        row(s, st.ERROR, st.BOT_SEND_ERROR, description="Bad Request: chat not found"),
        row(s, st.ERROR, st.SEND_FAILED, description="HTTP 502"),
        row(s, st.ERROR, st.TEMPLATE_ERROR, description="Unknown merge tag"),
        row(s, st.CANCELLED),
    ]


def assert_problem(r: Any, status: int, detail: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if detail is not None:
        assert r.json()["detail"] == detail


def all_contacts(client: TestClient, bid: int, bucket: str = "all") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = 1
    while True:
        r = client.get(
            f"/v1/broadcast/{bid}/report/contacts",
            params={"bucket": bucket, "startindex": start, "maxrows": 500},
        )
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page)
        if len(page) < 500:
            return items
        start += 500


# --- broadcast report ----------------------------------------------------------------------


def test_report_counts_every_counter(client: TestClient, db: Database, s: Setup) -> None:
    insert_rows(db, mixed_rows(s))
    # Rows of another broadcast and a transactional send of the same message do not count.
    other_bid = create_broadcast(client, s.message_id, s.app_uuid)
    insert_rows(
        db,
        [
            row(s, st.DELIVERED, broadcast_id=other_bid),
            row(s, st.ERROR, st.SEND_FAILED, broadcast=False),
        ],
    )
    r = client.get(f"/v1/broadcast/{s.broadcast_id}/report")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "broadcastId": s.broadcast_id,
        "status": "SCHEDULED",
        "startedAt": None,
        "finishedAt": None,
        "totalContacts": 16,
        "inQueue": 3,
        # delivered (5) + the requests Telegram refused (2 BOT_SEND_ERROR)
        "sent": 7,
        "delivered": 5,
        "clicked": 2,
        "errors": 4,
        "unavailable": {
            "total": 3,
            "byErrorType": {"Other errors": 3},
            "byErrorName": {
                "CHANNEL_WAS_MUTED": 2,
                "TOKEN_INACTIVE": 1,
                "QUIET_HOURS": 0,
                "FREQUENCY_CAP": 0,
            },
        },
        "errorsByName": {"BOT_SEND_ERROR": 2, "SEND_FAILED": 1, "TEMPLATE_ERROR": 1},
        "cancelled": 1,
        "held": 0,
        "waiting": 0,
    }


def test_report_of_a_broadcast_without_rows_has_every_key(
    client: TestClient, db: Database, s: Setup
) -> None:
    started = datetime(2024, 5, 1, 12, 0, 0, 123456)
    with db.transaction() as conn:
        conn.execute(
            update(broadcasts)
            .where(broadcasts.c.id == s.broadcast_id)
            .values(status=st.B_FINISHED, started_at=started, finished_at=started)
        )
    body = client.get(f"/v1/broadcast/{s.broadcast_id}/report").json()
    assert body["status"] == "FINISHED"
    assert body["startedAt"] == body["finishedAt"] == "2024-05-01T12:00:00Z"
    assert body["totalContacts"] == body["sent"] == body["cancelled"] == 0
    assert body["unavailable"] == {
        "total": 0,
        "byErrorType": {"Other errors": 0},
        "byErrorName": {
            "CHANNEL_WAS_MUTED": 0,
            "TOKEN_INACTIVE": 0,
            "QUIET_HOURS": 0,
            "FREQUENCY_CAP": 0,
        },
    }
    assert body["errorsByName"] == {"BOT_SEND_ERROR": 0, "SEND_FAILED": 0, "TEMPLATE_ERROR": 0}


def test_muted_recipient_is_unavailable_other_errors(
    client: TestClient, db: Database, s: Setup
) -> None:
    insert_rows(db, [row(s, st.UNAVAILABLE, st.CHANNEL_WAS_MUTED)])
    body = client.get(f"/v1/broadcast/{s.broadcast_id}/report").json()
    assert body["unavailable"]["total"] == 1
    assert body["unavailable"]["byErrorType"] == {"Other errors": 1}
    assert body["unavailable"]["byErrorName"]["CHANNEL_WAS_MUTED"] == 1
    assert body["errors"] == 0 and body["sent"] == 0
    (item,) = client.get(
        f"/v1/broadcast/{s.broadcast_id}/report/contacts", params={"bucket": "unavailable"}
    ).json()
    assert item["errorType"] == "Other errors"
    assert item["errorName"] == "CHANNEL_WAS_MUTED"


# --- report contacts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "statuses"),
    [
        ("all", None),
        ("delivered", {st.DELIVERED, st.CLICKED}),
        ("clicked", {st.CLICKED}),
        ("unavailable", {st.UNAVAILABLE}),
        ("errors", {st.ERROR}),
        ("inqueue", {st.IN_QUEUE, st.SENDING}),
        ("cancelled", {st.CANCELLED}),
        ("DELIVERED", {st.DELIVERED, st.CLICKED}),
    ],
)
def test_buckets(
    client: TestClient, db: Database, s: Setup, bucket: str, statuses: set[str] | None
) -> None:
    rows = mixed_rows(s)
    insert_rows(db, rows)
    expected = [r["token"] for r in rows if statuses is None or r["status"] in statuses]
    r = client.get(f"/v1/broadcast/{s.broadcast_id}/report/contacts", params={"bucket": bucket})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["token"] for i in body] == expected  # ordered by deliveries.id
    assert r.headers["TotalCount"] == str(len(expected))
    if statuses is not None:
        assert {i["status"] for i in body} == statuses


def test_contact_fields_and_at(client: TestClient, db: Database, s: Setup) -> None:
    r = client.post(
        f"/v1/apps/{s.app_uuid}/tokens",
        json={"tokens": [{"token": "555001", "externalCustomerId": "cust-1"}]},
    )
    assert r.status_code == 200, r.text
    with db.read() as conn:
        cid = int(
            conn.execute(
                select(contacts.c.id).where(contacts.c.external_customer_id == "cust-1")
            ).scalar_one()
        )
    clicked_at = T0 + timedelta(minutes=9)
    insert_rows(
        db,
        [
            row(s, st.CLICKED, token="555001", contact_id=cid),
            row(s, st.IN_QUEUE),
            row(s, st.ERROR, st.BOT_SEND_ERROR, description="Forbidden: bot was blocked"),
        ],
    )
    items = client.get(f"/v1/broadcast/{s.broadcast_id}/report/contacts").json()
    assert items[0] == {
        "contactId": cid,
        "externalCustomerId": "cust-1",
        "token": "555001",
        "status": "CLICKED",
        "errorType": None,
        "errorName": None,
        "description": None,
        "at": iso(clicked_at),
    }
    assert items[1]["contactId"] is None and items[1]["externalCustomerId"] is None
    assert items[1]["at"] == iso(T0)  # created_at while queued
    assert items[2]["at"] == iso(T0 + timedelta(minutes=5))  # finished_at
    assert items[2]["errorType"] == "Errors"
    assert items[2]["errorName"] == "BOT_SEND_ERROR"
    assert items[2]["description"] == "Forbidden: bot was blocked"


def test_contacts_paging(client: TestClient, db: Database, s: Setup) -> None:
    rows = [row(s, st.DELIVERED) for _ in range(7)]
    insert_rows(db, rows)
    url = f"/v1/broadcast/{s.broadcast_id}/report/contacts"
    r = client.get(url, params={"startindex": 3, "maxrows": 2})
    assert r.headers["TotalCount"] == "7"
    assert [i["token"] for i in r.json()] == [rows[2]["token"], rows[3]["token"]]
    r = client.get(url, params={"startindex": 7, "maxrows": 5})
    assert [i["token"] for i in r.json()] == [rows[6]["token"]]
    r = client.get(url, params={"startindex": 50})
    assert r.json() == []
    assert r.headers["TotalCount"] == "7"
    assert_problem(client.get(url, params={"maxrows": 501}), 400)
    assert_problem(client.get(url, params={"startindex": 0}), 400)


def test_bad_bucket_and_format(client: TestClient, s: Setup) -> None:
    url = f"/v1/broadcast/{s.broadcast_id}/report/contacts"
    r = client.get(url, params={"bucket": "sent"})
    assert_problem(r, 400)
    for name in ("all", "delivered", "clicked", "unavailable", "errors", "inqueue"):
        assert name in r.json()["detail"]
    assert_problem(client.get(url, params={"bucket": "nope", "format": "csv"}), 400)
    assert_problem(client.get(url, params={"format": "xml"}), 400, report_service.BAD_FORMAT)


def test_other_org_and_unknown_ids_are_404(
    client: TestClient, db: Database, s: Setup, other_key: str, fake_telegram: Any
) -> None:
    insert_rows(db, mixed_rows(s))
    r = client.post(
        "/v1/apps", json={"botToken": new_bot_token(fake_telegram)}, headers=bearer(other_key)
    )
    assert r.status_code == 201, r.text
    theirs = make_setup(client, db, str(r.json()["appUuid"]), key=other_key)
    unknown = theirs.broadcast_id + 1000
    for bid in (theirs.broadcast_id, unknown, 2**70):
        assert_problem(client.get(f"/v1/broadcast/{bid}/report"), 404, "Broadcast not found")
        for params in ({}, {"format": "csv"}):
            assert_problem(
                client.get(f"/v1/broadcast/{bid}/report/contacts", params=params),
                404,
                "Broadcast not found",
            )
    for mid in (theirs.message_id, theirs.message_id + 1000):
        assert_problem(client.get(f"/v1/messages/{mid}/report"), 404, "Message not found")
    # And the other organisation sees its own (empty) report, not ours.
    r = client.get(f"/v1/broadcast/{s.broadcast_id}/report", headers=bearer(other_key))
    assert_problem(r, 404)
    r = client.get(f"/v1/broadcast/{theirs.broadcast_id}/report", headers=bearer(other_key))
    assert r.status_code == 200 and r.json()["totalContacts"] == 0


# --- CSV -----------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == list(report_service.CSV_HEADER)
    return [dict(zip(header, line, strict=True)) for line in reader]


def as_csv_cells(item: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in item.items()}


@pytest.mark.parametrize("bucket", ["all", "delivered"])
def test_csv_export_equals_json_rows(
    client: TestClient, db: Database, s: Setup, bucket: str
) -> None:
    rows = []
    statuses = [st.DELIVERED, st.CLICKED, st.ERROR, st.IN_QUEUE, st.UNAVAILABLE]
    for i in range(3000):
        status = statuses[i % len(statuses)]
        name = {st.ERROR: st.BOT_SEND_ERROR, st.UNAVAILABLE: st.CHANNEL_WAS_MUTED}.get(status)
        desc = 'Forbidden: "quoted", comma,\nnewline' if status == st.ERROR else None
        rows.append(row(s, status, name, description=desc))
    insert_rows(db, rows)
    url = f"/v1/broadcast/{s.broadcast_id}/report/contacts"
    # startindex/maxrows are ignored: everything in the bucket is exported.
    r = client.get(url, params={"bucket": bucket, "format": "csv", "maxrows": 10})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert (
        r.headers["content-disposition"]
        == f'attachment; filename="broadcast-{s.broadcast_id}-{bucket}.csv"'
    )
    exported = parse_csv(r.text)
    expected = [as_csv_cells(i) for i in all_contacts(client, s.broadcast_id, bucket)]
    assert len(exported) == len(expected) == (3000 if bucket == "all" else 1200)
    assert exported == expected


def test_csv_of_an_empty_bucket_is_the_header(client: TestClient, s: Setup) -> None:
    r = client.get(
        f"/v1/broadcast/{s.broadcast_id}/report/contacts",
        params={"bucket": "clicked", "format": "csv"},
    )
    assert r.status_code == 200
    assert parse_csv(r.text) == []


def test_csv_streams_in_several_chunks(
    client: TestClient, db: Database, s: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_service, "EXPORT_PAGE", 100)
    # Statuses interleaved so every keyset page merges several per-status ranges.
    cycle = [st.DELIVERED, st.CLICKED, st.DELIVERED, st.ERROR]
    rows = [
        row(s, cycle[i % 4], st.SEND_FAILED if cycle[i % 4] == st.ERROR else None)
        for i in range(450)
    ]
    insert_rows(db, rows)
    url = f"/v1/broadcast/{s.broadcast_id}/report/contacts"
    for bucket, want in (("delivered", 338), ("all", 450)):
        chunks: list[bytes] = []
        with client.stream("GET", url, params={"bucket": bucket, "format": "csv"}) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw():
                if chunk:
                    chunks.append(chunk)
        assert len(chunks) == (want // 100) + 1
        exported = parse_csv(b"".join(chunks).decode())
        assert len(exported) == want
        assert exported == [as_csv_cells(i) for i in all_contacts(client, s.broadcast_id, bucket)]


# --- single report -------------------------------------------------------------------------


def single(client: TestClient, **params: Any) -> Any:
    return client.get("/v1/messages/single-report", params=params)


def test_single_report_items_filtering_and_order(
    client: TestClient, db: Database, s: Setup, other_key: str, fake_telegram: Any
) -> None:
    day = datetime(2024, 3, 10)
    rows = [
        row(  # 0: smartsend delivered, on the first day
            s,
            st.DELIVERED,
            broadcast=False,
            created_at=day + timedelta(hours=1),
            external_request_id="ext-1",
        ),
        row(  # 1: test send, refused by Telegram
            s,
            st.ERROR,
            st.BOT_SEND_ERROR,
            broadcast=False,
            kind=st.KIND_TEST,
            created_at=day + timedelta(hours=5),
            description="Forbidden: bot was blocked by the user",
        ),
        row(
            s, st.SENDING, broadcast=False, created_at=day + timedelta(days=1, hours=23, minutes=59)
        ),  # 2
        row(  # 3: no answer after retries
            s,
            st.ERROR,
            st.SEND_FAILED,
            broadcast=False,
            created_at=day + timedelta(days=1, hours=2),
            description="HTTP 502",
        ),
        row(s, st.CLICKED, broadcast=False, created_at=day + timedelta(days=2)),  # 4: next day
        row(s, st.DELIVERED, broadcast=False, created_at=day - timedelta(seconds=1)),  # 5: before
        row(s, st.DELIVERED, created_at=day + timedelta(hours=2)),  # 6: a broadcast row
    ]
    insert_rows(db, rows)
    r = single(client, dateFrom="2024-03-10", dateTo="2024-03-11")
    assert r.status_code == 200, r.text
    assert r.headers["TotalCount"] == "4"
    body = r.json()
    assert [i["receiver"] for i in body] == [rows[k]["token"] for k in (2, 3, 1, 0)]
    by_token = {i["receiver"]: i for i in body}
    assert by_token[rows[0]["token"]] == {
        "requestId": rows[0]["request_id"],
        "externalRequestId": "ext-1",
        "receiver": rows[0]["token"],
        "contactId": None,
        "messageId": s.message_id,
        "messageName": "Spring sale",
        "kind": "smartsend",
        "date": "2024-03-10T01:00:00Z",
        "status": "DELIVERED",
        "error": None,
    }
    test_item = by_token[rows[1]["token"]]
    assert test_item["kind"] == "test"
    assert test_item["status"] == "BOT_SEND_ERROR"
    assert test_item["error"] == "Forbidden: bot was blocked by the user"
    assert by_token[rows[2]["token"]]["status"] == "IN_QUEUE"
    assert by_token[rows[3]["token"]]["status"] == "ERROR"
    assert by_token[rows[3]["token"]]["error"] == "HTTP 502"

    # Minute precision: dateTo's minute is included.
    r = single(client, dateFrom="2024-03-10T01:00", dateTo="2024-03-10T05:00")
    assert [i["receiver"] for i in r.json()] == [rows[1]["token"], rows[0]["token"]]
    r = single(client, dateFrom="2024-03-10T01:01", dateTo="2024-03-10T04:59")
    assert r.json() == [] and r.headers["TotalCount"] == "0"

    # Paging.
    r = single(client, dateFrom="2024-03-01", dateTo="2024-03-31", startindex=2, maxrows=2)
    assert r.headers["TotalCount"] == "6"
    assert [i["receiver"] for i in r.json()] == [rows[2]["token"], rows[3]["token"]]

    # Another organisation sees none of it.
    r = client.get(
        "/v1/messages/single-report",
        params={"dateFrom": "2024-03-01", "dateTo": "2024-03-31"},
        headers=bearer(other_key),
    )
    assert r.status_code == 200 and r.json() == [] and r.headers["TotalCount"] == "0"


def test_single_report_defaults_to_the_last_7_days(
    client: TestClient, db: Database, s: Setup
) -> None:
    now = utcnow()
    rows = [
        row(s, st.DELIVERED, broadcast=False, created_at=now - timedelta(minutes=1)),
        row(s, st.DELIVERED, broadcast=False, created_at=now - timedelta(days=6, hours=23)),
        row(s, st.DELIVERED, broadcast=False, created_at=now - timedelta(days=7, hours=1)),
    ]
    insert_rows(db, rows)
    r = single(client)
    assert r.status_code == 200, r.text
    assert [i["receiver"] for i in r.json()] == [rows[0]["token"], rows[1]["token"]]
    assert r.headers["TotalCount"] == "2"


@pytest.mark.parametrize(
    "params",
    [
        {"dateFrom": "yesterday"},
        {"dateFrom": "2024-13-01"},
        {"dateTo": "2024-02-30"},
        {"dateFrom": "2024-03-10T25:00"},
        {"dateFrom": "10.03.2024"},
        {"dateFrom": "2024-03-11", "dateTo": "2024-03-10"},
        {"maxrows": 0},
    ],
)
def test_single_report_bad_params(client: TestClient, params: dict[str, str]) -> None:
    assert_problem(single(client, **params), 400)


# --- per-message report --------------------------------------------------------------------


def test_message_report_totals_every_send_of_the_message(
    client: TestClient, db: Database, s: Setup
) -> None:
    second_bid = create_broadcast(client, s.message_id, s.app_uuid)
    other_mid = create_message(client, name="Other")
    insert_rows(
        db,
        [
            *mixed_rows(s),
            row(s, st.DELIVERED, broadcast_id=second_bid),
            row(s, st.UNAVAILABLE, st.TOKEN_INACTIVE, broadcast_id=second_bid),
            row(s, st.CLICKED, broadcast=False),
            row(s, st.ERROR, st.BOT_SEND_ERROR, broadcast=False),
            # Not counted: a test send, and another message.
            row(s, st.DELIVERED, broadcast=False, kind=st.KIND_TEST),
            row(s, st.DELIVERED, message_id=other_mid),
        ],
    )
    r = client.get(f"/v1/messages/{s.message_id}/report")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "messageId": s.message_id,
        "totalContacts": 20,
        "inQueue": 3,
        "sent": 10,
        "delivered": 7,
        "clicked": 3,
        "errors": 5,
        "unavailable": {
            "total": 4,
            "byErrorType": {"Other errors": 4},
            "byErrorName": {
                "CHANNEL_WAS_MUTED": 2,
                "TOKEN_INACTIVE": 2,
                "QUIET_HOURS": 0,
                "FREQUENCY_CAP": 0,
            },
        },
        "errorsByName": {"BOT_SEND_ERROR": 3, "SEND_FAILED": 1, "TEMPLATE_ERROR": 1},
        "cancelled": 1,
        "held": 0,
        "waiting": 0,
    }
    body = client.get(f"/v1/messages/{other_mid}/report").json()
    assert body["totalContacts"] == body["delivered"] == 1

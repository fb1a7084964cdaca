"""smartsend, test send and message status, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hushcast.core.db import Database
from hushcast.delivery import status as st
from tests.support.broadcasts import (
    add_delivery,
    add_message,
    connect_bot,
    contact_id,
    deactivate,
    delivery_rows,
    org_id,
    register,
)
from tests.support.service import bearer


def smartsend(client: TestClient, message_id: int, recipients: Any, **extra: Any) -> Any:
    return client.post(
        f"/v1/message/{message_id}/smartsend",
        json={"recipients": recipients, "email": False, **extra},
    )


def assert_problem(r: Any, status: int, detail: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == detail


@pytest.fixture
def mid(db: Database, app_uuid: str, client: TestClient) -> int:
    register(client, app_uuid, [("101", "c1"), ("102", "c2"), ("103", "c2"), ("104", "c3")])
    deactivate(db, app_uuid, ["103", "104"])
    return add_message(db)


# --- smartsend -------------------------------------------------------------------------------


def test_smartsend_every_result_case_in_order(
    client: TestClient, db: Database, app_uuid: str, mid: int
) -> None:
    recipients = [
        {"locator": "101", "jsonParam": '{"name": "Ann"}', "externalRequestId": "ext-1"},
        {"locator": 999},
        {"contactId": contact_id(db, "c2")},  # one active token (103 is inactive)
        {"externalCustomerId": "c1", "jsonParam": None},
        {"externalCustomerId": "nobody"},
        {"contactId": 987654},
        {"contactId": contact_id(db, "c3")},  # only an inactive token
        {"locator": 101, "languageCode": "uk"},
    ]
    r = smartsend(client, mid, recipients)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == mid
    results = body["results"]
    assert isinstance(results, list) and len(results) == 8
    ok = [res for res in results if res["status"] == "OK"]
    assert results[0] == {"locator": "101", "status": "OK", "requestId": ok[0]["requestId"]}
    assert results[1] == {
        "locator": "999",
        "status": "ERROR",
        "requestId": None,
        "message": "Token 999 is not registered for this bot",
    }
    assert results[2]["locator"] == "102" and results[2]["status"] == "OK"
    assert results[2]["contactId"] == contact_id(db, "c2")
    assert results[3]["locator"] == "101" and results[3]["status"] == "OK"
    assert results[4]["status"] == "ERROR" and results[4]["message"] == "Contact not found"
    assert results[4]["requestId"] is None
    assert results[5]["message"] == "Contact not found"
    assert results[6]["message"] == "Contact has no active Telegram token for this bot"
    assert results[7]["locator"] == "101" and results[7]["status"] == "OK"
    assert "message" not in results[0]

    rows = {r.request_id: r for r in delivery_rows(db)}
    assert len(rows) == 4 == len(ok)
    for res in ok:
        row = rows[res["requestId"]]
        assert row.token == res["locator"]
        assert row.kind == st.KIND_SMARTSEND
        assert row.priority == st.PRIORITY_TRANSACTIONAL
        assert row.status == st.IN_QUEUE
        assert row.broadcast_id is None and row.message_id == mid
        assert row.organization_id == org_id(db)
        assert row.available_at is not None and row.attempts == 0
    first = rows[results[0]["requestId"]]
    assert first.json_param == '{"name": "Ann"}'
    assert first.external_request_id == "ext-1"
    assert first.contact_id == contact_id(db, "c1")
    assert rows[results[2]["requestId"]].contact_id == contact_id(db, "c2")


def test_contact_with_two_tokens_gets_two_results(
    client: TestClient, db: Database, app_uuid: str, mid: int
) -> None:
    register(client, app_uuid, [("105", "c1")])
    r = smartsend(client, mid, [{"externalCustomerId": "c1"}, {"locator": "102"}])
    results = r.json()["results"]
    assert [(x["locator"], x["status"]) for x in results] == [
        ("101", "OK"),
        ("105", "OK"),
        ("102", "OK"),
    ]
    assert len({x["requestId"] for x in results}) == 3
    assert len(delivery_rows(db)) == 3


def test_single_recipient_results_is_still_an_array(
    client: TestClient, app_uuid: str, mid: int
) -> None:
    r = smartsend(client, mid, [{"locator": "101"}])
    assert isinstance(r.json()["results"], list) and len(r.json()["results"]) == 1


@pytest.mark.parametrize(
    "value",
    ["[1, 2]", '"text"', "not json", "{bad", "", {"a": 1}, 5, True],
)
def test_json_param_must_be_a_json_object_string(
    client: TestClient, db: Database, app_uuid: str, mid: int, value: Any
) -> None:
    r = smartsend(client, mid, [{"locator": "101", "jsonParam": value}, {"locator": "102"}])
    assert r.status_code == 200, r.text
    bad, good = r.json()["results"]
    assert bad == {
        "locator": "101",
        "status": "ERROR",
        "requestId": None,
        "message": "jsonParam must be a JSON object encoded as a string",
    }
    assert good["status"] == "OK"
    assert [row.token for row in delivery_rows(db)] == ["102"]


def test_json_param_object_and_null_accepted(
    client: TestClient, db: Database, app_uuid: str, mid: int
) -> None:
    param = json.dumps({"order": {"items": [1, 2]}})
    r = smartsend(client, mid, [{"locator": "101", "jsonParam": param}, {"locator": "102"}])
    assert [x["status"] for x in r.json()["results"]] == ["OK", "OK"]
    assert [row.json_param for row in delivery_rows(db)] == [param, None]


@pytest.mark.parametrize(
    ("recipients", "detail"),
    [
        (None, "recipients is required: a non-empty array"),
        ("101", "recipients must be an array"),
        ([], "recipients must not be empty"),
        ([{"locator": "101"}, "102"], "recipients[1] must be an object"),
        (
            [{"locator": "101"}, {"jsonParam": "{}"}],
            "recipients[1] needs one of locator, contactId, externalCustomerId",
        ),
        (
            [{"locator": "101"}, {"locator": None, "contactId": None}],
            "recipients[1] needs one of locator, contactId, externalCustomerId",
        ),
        (
            [{"locator": "101"}, {"locator": 1.5}],
            "recipients[1].locator must be a Telegram chat id: a decimal integer (negative for "
            "groups, -100… for supergroups) or @channelusername; got '1.5'",
        ),
        ([{"contactId": "abc"}], "recipients[0].contactId must be a positive integer"),
    ],
)
def test_body_shape_errors_queue_nothing(
    client: TestClient, db: Database, app_uuid: str, mid: int, recipients: Any, detail: str
) -> None:
    assert_problem(smartsend(client, mid, recipients), 400, detail)
    assert delivery_rows(db) == []


def test_at_most_1000_recipients(client: TestClient, db: Database, app_uuid: str, mid: int) -> None:
    many = [{"locator": "101"}] * 1001
    assert_problem(smartsend(client, mid, many), 400, "At most 1000 recipients per request")
    assert delivery_rows(db) == []
    r = smartsend(client, mid, [{"locator": "101"}] * 1000)
    assert r.status_code == 200
    assert len(r.json()["results"]) == 1000
    assert len(delivery_rows(db)) == 1000


def test_message_and_app_checks(
    client: TestClient,
    db: Database,
    app_uuid: str,
    mid: int,
    other_key: str,
    fake_telegram: Any,
) -> None:
    foreign = add_message(db, org="rival")
    assert_problem(smartsend(client, foreign, [{"locator": "101"}]), 404, "Message not found")
    assert_problem(smartsend(client, mid + 999, [{"locator": "101"}]), 404, "Message not found")
    assert_problem(smartsend(client, mid, [{"locator": "101"}], appId="bad"), 400, "Wrong app uuid")
    assert_problem(
        smartsend(client, mid, [{"locator": "101"}], appId=str(uuid.uuid4())),
        404,
        "Not registered application",
    )
    rival_app = connect_bot(client, fake_telegram, other_key)
    assert_problem(
        smartsend(client, mid, [{"locator": "101"}], appId=rival_app),
        404,
        "Not registered application",
    )
    r = smartsend(client, mid, [{"locator": "101"}], email=True)
    assert r.status_code == 400
    # A second bot: appId becomes required, and the tokens are per bot.
    second = connect_bot(client, fake_telegram)
    assert_problem(
        smartsend(client, mid, [{"locator": "101"}]),
        400,
        "appId is required when the organisation has several bots",
    )
    r = smartsend(client, mid, [{"locator": "101"}], appId=second)
    assert r.json()["results"][0]["message"] == "Token 101 is not registered for this bot"
    r = smartsend(client, mid, [{"locator": "101"}], appId=app_uuid)
    assert r.json()["results"][0]["status"] == "OK"
    assert len(delivery_rows(db)) == 1


def test_contacts_of_another_organisation_are_not_found(
    client: TestClient, db: Database, app_uuid: str, mid: int, other_key: str, fake_telegram: Any
) -> None:
    rival_app = connect_bot(client, fake_telegram, other_key)
    register(client, rival_app, [("555", "rc")], key=other_key)
    r = smartsend(
        client,
        mid,
        [
            {"contactId": contact_id(db, "rc", org="rival")},
            {"externalCustomerId": "rc"},
            {"locator": "555"},
        ],
    )
    assert [x["status"] for x in r.json()["results"]] == ["ERROR", "ERROR", "ERROR"]
    assert delivery_rows(db) == []


# --- test send -------------------------------------------------------------------------------


def test_test_send(client: TestClient, db: Database, app_uuid: str, mid: int) -> None:
    r = client.post(
        f"/v1/message/{mid}/test",
        json={
            "tokens": ["103", 777],
            "contactIds": [contact_id(db, "c2"), contact_id(db, "c3"), 424242],
        },
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["id"] == mid
    results = body["results"]
    assert [(x["locator"], x["status"]) for x in results] == [
        ("103", "OK"),  # an inactive token may be tested
        ("777", "ERROR"),
        ("102", "OK"),  # contacts: active tokens only
        (None, "ERROR"),
        (None, "ERROR"),
    ]
    assert results[1]["message"] == "Token 777 is not registered for this bot"
    assert results[3]["message"] == "Contact has no active Telegram token for this bot"
    assert results[4]["message"] == "Contact not found"
    rows = delivery_rows(db)
    assert [(row.token, row.kind, row.priority) for row in rows] == [
        ("103", st.KIND_TEST, st.PRIORITY_TRANSACTIONAL),
        ("102", st.KIND_TEST, st.PRIORITY_TRANSACTIONAL),
    ]
    assert all(row.request_id for row in rows)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "tokens or contactIds must be given"),
        ({"tokens": [], "contactIds": []}, "tokens or contactIds must be given"),
        ({"tokens": "101"}, "tokens must be an array of chat ids"),
        (
            {"tokens": ["101", None]},
            "tokens[1] is required: a Telegram chat id: a decimal integer (negative for "
            "groups, -100… for supergroups) or @channelusername",
        ),
        ({"contactIds": [1, -2]}, "contactIds[1] must be a positive integer"),
        ({"tokens": ["101"] * 1001}, "At most 1000 recipients per request"),
    ],
)
def test_test_send_shape_errors(
    client: TestClient, db: Database, app_uuid: str, mid: int, body: Any, detail: str
) -> None:
    assert_problem(client.post(f"/v1/message/{mid}/test", json=body), 400, detail)
    assert delivery_rows(db) == []


def test_test_send_unknown_message(client: TestClient, app_uuid: str, mid: int) -> None:
    r = client.post(f"/v1/message/{mid + 1}/test", json={"tokens": ["101"]})
    assert_problem(r, 404, "Message not found")


# --- status ----------------------------------------------------------------------------------


STATUS_CASES = [
    (st.IN_QUEUE, None, None, {"status": "IN_QUEUE", "delivered": False, "failed": False}),
    (st.SENDING, None, None, {"status": "IN_QUEUE", "delivered": False, "failed": False}),
    (st.DELIVERED, None, None, {"status": "DELIVERED", "delivered": True, "failed": False}),
    (st.CLICKED, None, None, {"status": "CLICKED", "delivered": True, "failed": False}),
    (
        st.ERROR,
        st.BOT_SEND_ERROR,
        "Forbidden: bot was blocked by the user",
        {
            "status": "BOT_SEND_ERROR",
            "delivered": False,
            "failed": True,
            "error": "Forbidden: bot was blocked by the user",
        },
    ),
    (
        st.ERROR,
        st.SEND_FAILED,
        None,
        {"status": "ERROR", "delivered": False, "failed": True, "error": "SEND_FAILED"},
    ),
    (
        st.ERROR,
        st.TEMPLATE_ERROR,
        "bad template",
        {"status": "ERROR", "delivered": False, "failed": True, "error": "bad template"},
    ),
]


def test_status_mapping(client: TestClient, db: Database, app_uuid: str, mid: int) -> None:
    ids = []
    expected = []
    for i, (status, name, description, shown) in enumerate(STATUS_CASES):
        rid = str(uuid.uuid4())
        add_delivery(
            db,
            app_uuid=app_uuid,
            message_id=mid,
            token=str(i),
            status=status,
            request_id=rid,
            error_name=name,
            description=description,
        )
        ids.append(rid)
        expected.append({"requestId": rid, **shown})
    unknown = str(uuid.uuid4())
    # Comma-separated and repeated; answered in the order asked.
    order = [ids[6], unknown, *ids[:6]]
    r = client.get(
        "/v1/message/status",
        params=[("ids", ",".join(order[:4])), ("ids", order[4]), ("ids", ",".join(order[5:]))],
    )
    assert r.status_code == 200, r.text
    by_id = {e["requestId"]: e for e in expected}
    by_id[unknown] = {
        "requestId": unknown,
        "status": "NOT_FOUND",
        "delivered": False,
        "failed": False,
    }
    assert r.json() == {"results": [by_id[i] for i in order]}


def test_status_after_smartsend_and_cross_org(
    client: TestClient, db: Database, app_uuid: str, mid: int, other_key: str
) -> None:
    rid = smartsend(client, mid, [{"locator": "101"}]).json()["results"][0]["requestId"]
    r = client.get("/v1/message/status", params={"ids": rid})
    assert r.json() == {
        "results": [{"requestId": rid, "status": "IN_QUEUE", "delivered": False, "failed": False}]
    }
    r = client.get("/v1/message/status", params={"ids": rid}, headers=bearer(other_key))
    assert r.json() == {
        "results": [{"requestId": rid, "status": "NOT_FOUND", "delivered": False, "failed": False}]
    }


def test_status_id_limits(client: TestClient, app_uuid: str) -> None:
    assert client.get("/v1/message/status").status_code == 400
    assert client.get("/v1/message/status", params={"ids": " , "}).status_code == 400
    many = ",".join(str(i) for i in range(1001))
    assert_problem(
        client.get("/v1/message/status", params={"ids": many}),
        400,
        "At most 1000 ids per request",
    )
    r = client.get("/v1/message/status", params={"ids": ",".join(str(i) for i in range(1000))})
    assert r.status_code == 200 and len(r.json()["results"]) == 1000

"""Contacts: add/update one and many, read, delete — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database
from hushcast.groups.models import group_contacts
from hushcast.mute.models import mutes
from tests.support.service import bearer


def assert_problem(r: Any, status: int, detail: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if detail is not None:
        assert r.json()["detail"] == detail


def upsert(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/contact", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def get(client: TestClient, contact_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/contact/{contact_id}")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    # Yespo's additions (custom field ids, group type) are checked in tests/yespo.
    result["fields"] = [{k: v for k, v in f.items() if k != "id"} for f in result["fields"]]
    result["groups"] = [{k: v for k, v in g.items() if k != "type"} for g in result["groups"]]
    return result


def count_contacts(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(contacts)).scalar_one())


# --- POST /contact -------------------------------------------------------------------


def test_create_with_all_attributes(client: TestClient) -> None:
    r = upsert(
        client,
        firstName="Ada",
        lastName="Lovelace",
        email="ada@example.com",
        phone="+44 (20) 7946-0000",
        externalCustomerId="c-1",
        timeZone="Europe/Kyiv",
        fields=[
            {"name": "plan", "value": "gold"},
            {"name": "age", "value": 36},
            {"name": "score", "value": 1.5},
            {"name": "vip", "value": True},
            {"name": "gone", "value": None},
        ],
    )
    assert r["created"] is True
    c = get(client, r["id"])
    assert c["id"] == r["id"]
    assert c["firstName"] == "Ada" and c["lastName"] == "Lovelace"
    assert c["email"] == "ada@example.com"
    assert c["phone"] == "+44 (20) 7946-0000"
    assert c["externalCustomerId"] == "c-1"
    assert c["timeZone"] == "Europe/Kyiv"
    assert c["fields"] == [
        {"name": "plan", "value": "gold"},
        {"name": "age", "value": 36},
        {"name": "score", "value": 1.5},
        {"name": "vip", "value": True},
    ]
    assert c["tokens"] == [] and c["groups"] == []
    assert c["createdAt"].endswith("Z") and c["updatedAt"].endswith("Z")


def test_update_changes_only_given_attributes(client: TestClient) -> None:
    cid = upsert(client, email="a@x.io", firstName="Ann", lastName="Lee", timeZone="UTC")["id"]
    r = upsert(client, email="a@x.io", firstName="Anna", lastName=None, phone="123")
    assert r == {"id": cid, "created": False}
    c = get(client, cid)
    assert c["firstName"] == "Anna"
    assert c["lastName"] == "Lee"
    assert c["timeZone"] == "UTC"
    assert c["phone"] == "123"


def test_custom_fields_merge_and_removal(client: TestClient) -> None:
    cid = upsert(
        client,
        externalCustomerId="e1",
        fields=[{"name": "a", "value": "1"}, {"name": "b", "value": 2}],
    )["id"]
    upsert(
        client,
        externalCustomerId="e1",
        fields=[
            {"name": "b", "value": None},
            {"name": "c", "value": False},
            {"name": "a", "value": 1},
        ],
    )
    fields = {f["name"]: f["value"] for f in get(client, cid)["fields"]}
    assert fields == {"a": 1, "c": False}
    # Removing a field that is not there is fine.
    upsert(client, externalCustomerId="e1", fields=[{"name": "zzz", "value": None}])
    upsert(client, externalCustomerId="e1", fields=[{"name": "a", "value": None}])
    assert get(client, cid)["fields"] == [{"name": "c", "value": False}]


def test_update_bumps_updated_at_only_on_change(client: TestClient, db: Database) -> None:
    cid = upsert(client, email="t@x.io")["id"]
    old = datetime(2020, 1, 1)
    with db.transaction() as conn:
        conn.execute(contacts.update().values(updated_at=old, created_at=old))
    upsert(client, email="t@x.io")
    assert get(client, cid)["updatedAt"] == "2020-01-01T00:00:00Z"
    upsert(client, email="t@x.io", firstName="T")
    c = get(client, cid)
    assert c["updatedAt"] != "2020-01-01T00:00:00Z"
    assert c["createdAt"] == "2020-01-01T00:00:00Z"


def test_matching_order_contact_id_first(client: TestClient) -> None:
    by_email = upsert(client, email="m@x.io")["id"]
    target = upsert(client, email="other@x.io")["id"]
    r = upsert(client, contactId=target, externalCustomerId="X", phone="555")
    assert r == {"id": target, "created": False}
    # The matched contact takes the given identifiers (no other contact holds them).
    c = get(client, target)
    assert (c["externalCustomerId"], c["phone"], c["email"]) == ("X", "555", "other@x.io")
    # An identifier another contact holds is not taken over: 409, nothing changes.
    r = client.post("/v1/contact", json={"contactId": target, "email": "m@x.io"})
    assert_problem(r, 409, f"email: 'm@x.io' already belongs to contact {by_email}")
    assert get(client, target)["email"] == "other@x.io"


def test_matching_order_external_id_beats_phone_and_email(client: TestClient) -> None:
    by_phone = upsert(client, phone="555")["id"]
    by_ext = upsert(client, externalCustomerId="X")["id"]
    r = upsert(client, externalCustomerId="X", phone="556", email="m@x.io", firstName="E")
    assert r["id"] == by_ext
    assert get(client, by_phone)["firstName"] is None
    # Identifiers naming two contacts: the first match (by externalCustomerId) would take
    # the other's phone, which the unique rule forbids.
    r = client.post("/v1/contact", json={"externalCustomerId": "X", "phone": "555"})
    assert_problem(r, 409, f"phone: '555' already belongs to contact {by_phone}")


def test_matching_order_phone_beats_email(client: TestClient) -> None:
    by_email = upsert(client, email="m@x.io")["id"]
    by_phone = upsert(client, phone="555")["id"]
    r = upsert(client, externalCustomerId="new", phone="555", email="n@x.io")
    assert r == {"id": by_phone, "created": False}
    assert get(client, by_phone)["externalCustomerId"] == "new"
    assert get(client, by_email)["externalCustomerId"] is None
    r = client.post("/v1/contact", json={"phone": "555", "email": "m@x.io"})
    assert_problem(r, 409, f"email: 'm@x.io' already belongs to contact {by_email}")


def test_matching_by_email_alone(client: TestClient) -> None:
    cid = upsert(client, email="m@x.io")["id"]
    assert upsert(client, email="m@x.io", phone="1")["id"] == cid


def test_one_contact_per_identifier(client: TestClient) -> None:
    first = upsert(client, externalCustomerId="a", email="dup@x.io")["id"]
    second = upsert(client, externalCustomerId="b")["id"]
    r = client.post("/v1/contact", json={"contactId": second, "email": "dup@x.io"})
    assert_problem(r, 409, f"email: 'dup@x.io' already belongs to contact {first}")
    r = upsert(client, email="dup@x.io", firstName="Oldest")
    assert r["id"] == first
    assert get(client, first)["firstName"] == "Oldest"
    # Within one bulk request too: nothing of it is applied.
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                {"externalCustomerId": "c", "phone": "9"},
                {"contactId": second, "phone": "9"},
            ]
        },
    )
    assert_problem(
        r, 409, "contacts[1].phone: '9' already belongs to another contact of this request"
    )
    assert get(client, second)["phone"] is None


def test_unknown_contact_id_falls_back_to_identifiers(client: TestClient) -> None:
    cid = upsert(client, email="f@x.io")["id"]
    assert upsert(client, contactId=999999, email="f@x.io") == {"id": cid, "created": False}
    r = upsert(client, contactId=999999, email="new@x.io")
    assert r["created"] is True and r["id"] != 999999


def test_unknown_contact_id_alone_is_400(client: TestClient, db: Database) -> None:
    r = client.post("/v1/contact", json={"contactId": 424242, "firstName": "x"})
    assert_problem(r, 400, "contactId: contact 424242 not found")
    assert count_contacts(db) == 0


def test_existing_contact_id_alone_updates(client: TestClient) -> None:
    cid = upsert(client, phone="777")["id"]
    assert upsert(client, contactId=cid, firstName="Z") == {"id": cid, "created": False}
    assert upsert(client, contactId=str(cid), lastName="Q")["id"] == cid
    c = get(client, cid)
    assert (c["firstName"], c["lastName"]) == ("Z", "Q")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"firstName": "Only"},
        {"email": None, "phone": "", "externalCustomerId": "  "},
        {"fields": [{"name": "a", "value": 1}]},
    ],
)
def test_identifier_required(client: TestClient, db: Database, body: dict[str, Any]) -> None:
    r = client.post("/v1/contact", json=body)
    assert_problem(
        r, 400, "At least one of contactId, externalCustomerId, phone, email is required"
    )
    assert count_contacts(db) == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"email": "nope"}, "email: must be an email address"),
        ({"email": "a@" + "x" * 320}, "email: is longer than 320 characters"),
        ({"email": 5}, "email: must be a string"),
        ({"phone": "12ab"}, "phone: may hold only digits, +, -, spaces and parentheses"),
        ({"phone": "+-()"}, "phone: may hold only digits, +, -, spaces and parentheses"),
        ({"phone": "1" * 51}, "phone: is longer than 50 characters"),
        (
            {"email": "a@b.c", "timeZone": "Mars/Olympus"},
            "timeZone: unknown time zone 'Mars/Olympus'",
        ),
        (
            {"email": "a@b.c", "timeZone": "../etc/passwd"},
            "timeZone: unknown time zone '../etc/passwd'",
        ),
        ({"email": "a@b.c", "firstName": "x" * 201}, "firstName: is longer than 200 characters"),
        ({"email": "a@b.c", "lastName": "x" * 201}, "lastName: is longer than 200 characters"),
        ({"email": "a@b.c", "firstName": ["x"]}, "firstName: must be a string"),
        ({"email": "a@b.c", "firstName": "a\x00b"}, "firstName: must not contain NUL characters"),
        ({"email": "a\x00@b.c"}, "email: must not contain NUL characters"),
        ({"externalCustomerId": "e\x00"}, "externalCustomerId: must not contain NUL characters"),
        ({"externalCustomerId": "e" * 201}, "externalCustomerId: is longer than 200 characters"),
        ({"contactId": 0, "email": "a@b.c"}, "contactId: must be a positive integer"),
        ({"contactId": True, "email": "a@b.c"}, "contactId: must be a positive integer"),
        ({"contactId": "abc", "email": "a@b.c"}, "contactId: must be a positive integer"),
        ({"email": "a@b.c", "fields": {"a": 1}}, "fields: must be an array of {name, value}"),
        (
            {"email": "a@b.c", "fields": [{"name": f"f{i}", "value": i} for i in range(101)]},
            "fields: at most 100 entries",
        ),
        (
            {"email": "a@b.c", "fields": [{"name": "n" * 101, "value": 1}]},
            "fields[0].name: is longer than 100 characters",
        ),
        ({"email": "a@b.c", "fields": [{"value": 1}]}, "fields[0].name: is required"),
        ({"email": "a@b.c", "fields": ["x"]}, "fields[0]: must be an object with name and value"),
        (
            {"email": "a@b.c", "fields": [{"name": "a"}]},
            "fields[0].value: is required (null removes the field)",
        ),
        (
            {"email": "a@b.c", "fields": [{"name": "a", "value": [1]}]},
            "fields[0].value: must be a string, number, boolean or null",
        ),
        (
            {"email": "a@b.c", "fields": [{"name": "a", "value": "v\x00"}]},
            "fields[0].value: must not contain NUL characters",
        ),
        (
            {"email": "a@b.c", "fields": [{"name": "a\x00", "value": 1}]},
            "fields[0].name: must not contain NUL characters",
        ),
    ],
)
def test_validation(client: TestClient, db: Database, body: dict[str, Any], detail: str) -> None:
    assert_problem(client.post("/v1/contact", json=body), 400, detail)
    assert count_contacts(db) == 0


def test_limits_accepted(client: TestClient) -> None:
    r = upsert(
        client,
        email="a@" + "x" * 318,
        phone="1" * 50,
        firstName="f" * 200,
        fields=[{"name": "n" * 100, "value": i} for i in range(100)],
    )
    assert r["created"]


def test_non_finite_field_value_rejected(client: TestClient) -> None:
    raw = b'{"email": "a@b.c", "fields": [{"name": "a", "value": NaN}]}'
    r = client.post("/v1/contact", content=raw, headers={"content-type": "application/json"})
    assert_problem(r, 400, "fields[0].value: must be a finite number")


@pytest.mark.parametrize("raw", [b"", b"[]", b"{bad", b'"x"'])
def test_body_must_be_json_object(client: TestClient, raw: bytes) -> None:
    r = client.post("/v1/contact", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"] in (
        "Request body must be a JSON object",
        "Request body is not valid JSON",
    )


# --- POST /contacts ------------------------------------------------------------------


def test_bulk_creates_and_updates(client: TestClient) -> None:
    existing = upsert(client, email="old@x.io")["id"]
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                {"email": "n1@x.io"},
                {"email": "old@x.io", "firstName": "Old"},
                {"phone": "123", "externalCustomerId": "p"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 2 and body["updated"] == 1
    assert body["ids"][1] == existing
    assert len(set(body["ids"])) == 3
    assert get(client, existing)["firstName"] == "Old"
    assert get(client, body["ids"][2])["externalCustomerId"] == "p"


def test_bulk_items_match_each_other(client: TestClient, db: Database) -> None:
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                {"email": "a@x.io", "fields": [{"name": "k", "value": 1}]},
                {"email": "a@x.io", "phone": "42", "fields": [{"name": "j", "value": "v"}]},
                {
                    "phone": "42",
                    "externalCustomerId": "E",
                    "fields": [{"name": "k", "value": None}],
                },
                {"externalCustomerId": "E", "firstName": "Merged"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 1 and body["updated"] == 3
    cid = body["ids"][0]
    assert body["ids"] == [cid] * 4
    c = get(client, cid)
    assert (c["email"], c["phone"], c["externalCustomerId"], c["firstName"]) == (
        "a@x.io",
        "42",
        "E",
        "Merged",
    )
    assert c["fields"] == [{"name": "j", "value": "v"}]
    assert count_contacts(db) == 1


def test_bulk_identifier_moved_by_earlier_item(client: TestClient) -> None:
    a = upsert(client, email="shared@x.io", externalCustomerId="A")["id"]
    b = upsert(client, externalCustomerId="B")["id"]
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                # A gives the email up, B takes it; a later item with it matches B.
                {"externalCustomerId": "A", "email": "mine@x.io"},
                {"externalCustomerId": "B", "email": "shared@x.io"},
                {"email": "shared@x.io", "firstName": "Bee"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == [a, b, b]
    assert get(client, b)["firstName"] == "Bee"
    assert get(client, a)["firstName"] is None


def test_bulk_bad_item_applies_nothing(client: TestClient, db: Database) -> None:
    existing = upsert(client, email="keep@x.io", firstName="Keep")["id"]
    items: list[dict[str, Any]] = [{"email": f"u{i}@x.io"} for i in range(5)]
    items.insert(1, {"email": "keep@x.io", "firstName": "Changed"})
    items[3] = {"email": "bad-email"}
    r = client.post("/v1/contacts", json={"contacts": items})
    assert_problem(r, 400, "contacts[3].email: must be an email address")
    assert count_contacts(db) == 1
    assert get(client, existing)["firstName"] == "Keep"


def test_bulk_unknown_contact_id_applies_nothing(client: TestClient, db: Database) -> None:
    r = client.post(
        "/v1/contacts",
        json={"contacts": [{"email": "a@x.io"}, {"email": "b@x.io"}, {"contactId": 987654}]},
    )
    assert_problem(r, 400, "contacts[2].contactId: contact 987654 not found")
    assert count_contacts(db) == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "contacts must be a non-empty array"),
        ({"contacts": []}, "contacts must be a non-empty array"),
        ({"contacts": {"email": "a@b.c"}}, "contacts must be a non-empty array"),
        ({"contacts": [{"email": "a@b.c"}, 5]}, "contacts[1]: must be an object"),
        (
            {"contacts": [{"email": "a@b.c"}, {"firstName": "x"}]},
            "contacts[1]: at least one of contactId, externalCustomerId, phone, email is required",
        ),
        (
            {"contacts": [{"email": "a@b.c", "timeZone": "Nowhere/City"}]},
            "contacts[0].timeZone: unknown time zone 'Nowhere/City'",
        ),
        (
            {"contacts": [{"email": "a@b.c", "fields": [{"name": "a"}]}]},
            "contacts[0].fields[0].value: is required (null removes the field)",
        ),
    ],
)
def test_bulk_validation(
    client: TestClient, db: Database, body: dict[str, Any], detail: str
) -> None:
    assert_problem(client.post("/v1/contacts", json=body), 400, detail)
    assert count_contacts(db) == 0


def test_bulk_over_limit(client: TestClient, db: Database) -> None:
    items = [{"email": f"{i}@x.io"} for i in range(10_001)]
    assert_problem(
        client.post("/v1/contacts", json={"contacts": items}),
        400,
        "At most 10000 contacts per request",
    )
    assert count_contacts(db) == 0


def test_bulk_large_batch_set_based(client: TestClient, db: Database) -> None:
    first = client.post(
        "/v1/contacts", json={"contacts": [{"email": f"{i}@x.io"} for i in range(2500)]}
    )
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2500
    items = [
        {"email": f"{i}@x.io", "fields": [{"name": "n", "value": i}]} for i in range(0, 5000, 2)
    ]
    r = client.post("/v1/contacts", json={"contacts": items})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["updated"] == 1250 and body["created"] == 1250
    assert body["ids"][:1250] == first.json()["ids"][0:2500:2]
    assert count_contacts(db) == 3750
    assert get(client, body["ids"][10])["fields"] == [{"name": "n", "value": 20}]


# --- GET / DELETE /contact/{id} --------------------------------------------------------


def register_token(client: TestClient, app_uuid: str, token: str, email: str) -> None:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens", json={"tokens": [{"token": token, "email": email}]}
    )
    assert r.status_code == 200, r.text


def test_get_shows_tokens_with_mute_state(client: TestClient, app_uuid: str, db: Database) -> None:
    cid = upsert(client, email="a@b.c")["id"]
    register_token(client, app_uuid, "123", "a@b.c")
    register_token(client, app_uuid, "456", "a@b.c")
    c = get(client, cid)
    assert c["tokens"] == [
        {"appUuid": app_uuid, "token": "123", "active": True, "mutedUntil": None},
        {"appUuid": app_uuid, "token": "456", "active": True, "mutedUntil": None},
    ]
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "123"})
    assert r.status_code == 200, r.text
    tokens = get(client, cid)["tokens"]
    assert tokens[0]["mutedUntil"] == "9999-12-31T23:59:59Z"
    assert tokens[1]["mutedUntil"] is None
    # An expired mute reads as not muted.
    with db.transaction() as conn:
        conn.execute(
            mutes.update().values(
                muted_until=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
            )
        )
    assert get(client, cid)["tokens"][0]["mutedUntil"] is None


def test_get_shows_groups(client: TestClient) -> None:
    cid = upsert(client, externalCustomerId="g")["id"]
    g1 = client.post("/v1/groups", json={"name": "One"}).json()["id"]
    g2 = client.post("/v1/groups", json={"name": "Two"}).json()["id"]
    client.post("/v1/groups", json={"name": "Three"})
    for g in (g2, g1):
        r = client.post(f"/v1/groups/{g}/contacts", json={"contactIds": [cid]})
        assert r.status_code == 200, r.text
    assert get(client, cid)["groups"] == [{"id": g1, "name": "One"}, {"id": g2, "name": "Two"}]


def test_get_unknown_is_404(client: TestClient) -> None:
    assert_problem(client.get("/v1/contact/424242"), 404, "Contact not found")
    assert_problem(client.get("/v1/contact/0"), 404, "Contact not found")
    assert_problem(client.get(f"/v1/contact/{2**70}"), 404, "Contact not found")
    assert_problem(client.get("/v1/contact/abc"), 400)


def test_delete_removes_tokens_and_memberships(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    cid = upsert(client, email="a@b.c")["id"]
    keep = upsert(client, email="keep@b.c")["id"]
    register_token(client, app_uuid, "123", "a@b.c")
    register_token(client, app_uuid, "999", "keep@b.c")
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "123"})
    gid = client.post("/v1/groups", json={"name": "G"}).json()["id"]
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": [cid, keep]})

    r = client.delete(f"/v1/contact/{cid}")
    # Yespo answers 200 with a body (its clients treat 204 as unexpected).
    assert r.status_code == 200, r.text
    assert r.json() == {"id": cid}
    assert_problem(client.get(f"/v1/contact/{cid}"), 404, "Contact not found")
    assert_problem(client.delete(f"/v1/contact/{cid}"), 404, "Contact not found")
    with db.read() as conn:
        assert conn.execute(select(app_tokens.c.token)).scalars().all() == ["999"]
        assert conn.execute(select(group_contacts.c.contact_id)).scalars().all() == [keep]
        # Mutes are keyed by (app, token) and stay.
        assert conn.execute(select(mutes.c.token)).scalars().all() == ["123"]
    assert client.get(f"/v1/groups/{gid}").json()["contacts"] == 1
    assert get(client, keep)["tokens"][0]["token"] == "999"


# --- organisation scoping and prefixes --------------------------------------------------


def test_other_organisation_sees_unknown_contact(
    client: TestClient, app_uuid: str, other_key: str, db: Database
) -> None:
    cid = upsert(client, email="mine@x.io", externalCustomerId="E", firstName="Mine")["id"]
    h = bearer(other_key)
    assert_problem(client.get(f"/v1/contact/{cid}", headers=h), 404, "Contact not found")
    assert_problem(client.delete(f"/v1/contact/{cid}", headers=h), 404, "Contact not found")
    # contactId of another organisation matches nothing there.
    r = client.post("/v1/contact", json={"contactId": cid, "firstName": "Theirs"}, headers=h)
    assert_problem(r, 400, f"contactId: contact {cid} not found")
    # Same identifiers in the other organisation create a separate contact.
    r = client.post(
        "/v1/contact",
        json={"contactId": cid, "email": "mine@x.io", "externalCustomerId": "E", "firstName": "T"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["created"] is True
    assert r.json()["id"] != cid
    r = client.post(
        "/v1/contacts", json={"contacts": [{"email": "mine@x.io", "lastName": "L"}]}, headers=h
    )
    assert r.json() == {
        "created": 0,
        "updated": 1,
        "ids": [r.json()["ids"][0]],
        "asyncSessionId": r.json()["asyncSessionId"],
    }
    c = get(client, cid)
    assert (c["firstName"], c["lastName"]) == ("Mine", None)
    assert count_contacts(db) == 2


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_prefixes(client: TestClient, prefix: str) -> None:
    r = client.post(f"{prefix}/contact", json={"email": "p@x.io"})
    assert r.status_code == 200, r.text
    cid = r.json()["id"]
    r = client.post(f"{prefix}/contacts/", json={"contacts": [{"email": "p@x.io"}]})
    assert r.json()["ids"] == [cid]
    assert client.get(f"{prefix}/contact/{cid}").json()["email"] == "p@x.io"
    assert client.delete(f"{prefix}/contact/{cid}/").status_code == 200


def test_requires_auth(client: TestClient) -> None:
    r = client.post("/v1/contact", json={"email": "a@b.c"}, headers={"Authorization": ""})
    assert r.status_code == 401

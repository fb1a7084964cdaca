"""Token registration: Yespo matching, moves, atomic bulk, paging."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database


def tokens_url(app_uuid: str) -> str:
    return f"/v1/apps/{app_uuid}/tokens"


def counts(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(contacts)).scalar_one(),
            conn.execute(select(func.count()).select_from(app_tokens)).scalar_one(),
        )


def owner(db: Database, token: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(app_tokens.c.contact_id).where(app_tokens.c.token == token)
            ).scalar_one()
        )


def test_register_creates_contacts_and_tokens(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    r = client.post(
        tokens_url(app_uuid),
        json={
            "tokens": [
                {"token": "1", "email": "a@x.io", "phone": "+380501", "externalCustomerId": "e1"},
                {"token": 2, "phone": "+380502"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "contactsCreated": 2,
        "tokensAdded": 2,
        "tokensMoved": 0,
        "tokensReactivated": 0,
        "tokensUnchanged": 0,
    }
    rows = client.get(tokens_url(app_uuid)).json()
    assert [(t["token"], t["email"], t["externalCustomerId"]) for t in rows] == [
        ("1", "a@x.io", "e1"),
        ("2", None, None),
    ]
    assert all(t["active"] and t["mutedUntil"] is None for t in rows)


def test_matching_order_contact_id_then_ext_then_phone_then_email(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    client.post(
        tokens_url(app_uuid),
        json={
            "tokens": [
                {"token": "101", "externalCustomerId": "E"},
                {"token": "102", "phone": "111"},
                {"token": "103", "email": "m@x.io"},
            ]
        },
    )
    ca, cb, cc = owner(db, "101"), owner(db, "102"), owner(db, "103")
    # email and phone name other contacts, but externalCustomerId wins.
    client.post(
        tokens_url(app_uuid),
        json={
            "tokens": [
                {"token": "104", "externalCustomerId": "E", "phone": "111", "email": "m@x.io"}
            ]
        },
    )
    assert owner(db, "104") == ca
    # phone beats email.
    client.post(
        tokens_url(app_uuid), json={"tokens": [{"token": "105", "phone": "111", "email": "m@x.io"}]}
    )
    assert owner(db, "105") == cb
    client.post(tokens_url(app_uuid), json={"tokens": [{"token": "106", "email": "m@x.io"}]})
    assert owner(db, "106") == cc
    # contactId beats everything.
    client.post(
        tokens_url(app_uuid),
        json={"tokens": [{"token": "107", "contactId": cc, "externalCustomerId": "E"}]},
    )
    assert owner(db, "107") == cc
    # Existing identifiers are not changed by registration.
    with db.read() as conn:
        row = conn.execute(select(contacts).where(contacts.c.id == ca)).one()
    assert row.phone is None and row.email is None
    assert counts(db) == (3, 7)


def test_same_email_two_tokens_keeps_both(client: TestClient, app_uuid: str, db: Database) -> None:
    client.post(tokens_url(app_uuid), json={"tokens": [{"token": "1", "email": "a@x.io"}]})
    r = client.post(tokens_url(app_uuid), json={"tokens": [{"token": "2", "email": "a@x.io"}]})
    assert r.json()["contactsCreated"] == 0 and r.json()["tokensAdded"] == 1
    assert owner(db, "1") == owner(db, "2")


def test_items_in_one_request_match_each_other(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    r = client.post(
        tokens_url(app_uuid),
        json={"tokens": [{"token": "1", "email": "a@x.io"}, {"token": "2", "email": "a@x.io"}]},
    )
    assert r.json()["contactsCreated"] == 1
    assert owner(db, "1") == owner(db, "2")


def test_token_moves_to_matched_contact(client: TestClient, app_uuid: str, db: Database) -> None:
    client.post(
        tokens_url(app_uuid),
        json={"tokens": [{"token": "9", "email": "old@x.io"}, {"token": "8", "email": "new@x.io"}]},
    )
    new_owner = owner(db, "8")
    r = client.post(tokens_url(app_uuid), json={"tokens": [{"token": "9", "email": "new@x.io"}]})
    assert r.json()["tokensMoved"] == 1
    assert owner(db, "9") == new_owner
    again = client.post(
        tokens_url(app_uuid), json={"tokens": [{"token": "9", "email": "new@x.io"}]}
    )
    assert again.json()["tokensUnchanged"] == 1


def test_bare_chat_id_gets_a_contact_of_its_own_once(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    # Accepted as {"token": "555"} or as "555" alone; the same chat id twice: one contact.
    body = {"tokens": [{"token": "555"}, "556", 557, {"token": "556"}]}
    r = client.post(tokens_url(app_uuid), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["contactsCreated"] == 3 and r.json()["tokensAdded"] == 3
    assert counts(db) == (3, 3)
    first = owner(db, "555")

    # Again, alone: the chat keeps its contact (no new one).
    r = client.post(tokens_url(app_uuid), json={"tokens": ["555"]})
    assert r.json()["contactsCreated"] == 0 and r.json()["tokensUnchanged"] == 1
    assert owner(db, "555") == first

    # With an identifier later: it moves to the contact named, as any token does.
    r = client.post(tokens_url(app_uuid), json={"tokens": [{"token": "555", "email": "a@x.io"}]})
    assert r.json()["contactsCreated"] == 1 and r.json()["tokensMoved"] == 1
    assert owner(db, "555") != first


def test_unknown_contact_id_alone_is_rejected(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    r = client.post(tokens_url(app_uuid), json={"tokens": [{"token": "1", "contactId": 999999}]})
    assert r.status_code == 400 and "tokens[0]" in r.json()["detail"]
    assert counts(db) == (0, 0)


def test_bad_item_names_index_and_applies_nothing(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    good = [{"token": str(i + 1), "email": f"u{i}@x.io"} for i in range(50)]
    cases = [
        ({"token": "", "email": "z@x.io"}, "tokens[50].token"),
        (["51"], "tokens[50] must be an object or a chat id"),
        ({"token": True, "email": "z@x.io"}, "tokens[50].token"),
        ({"token": "51", "email": "not-an-email"}, "tokens[50].email"),
        ({"token": "51", "phone": "call me"}, "tokens[50].phone"),
        ({"token": "x" * 65, "email": "z@x.io"}, "tokens[50].token"),
        ("not an object", "tokens[50]"),
    ]
    for bad, where in cases:
        r = client.post(tokens_url(app_uuid), json={"tokens": [*good, bad]})
        assert r.status_code == 400, bad
        assert where in r.json()["detail"], (bad, r.json()["detail"])
    assert counts(db) == (0, 0)


def test_envelope_errors(client: TestClient, app_uuid: str) -> None:
    for body in ({}, {"tokens": []}, {"tokens": "1"}):
        assert client.post(tokens_url(app_uuid), json=body).status_code == 400
    assert client.post(tokens_url(app_uuid), content=b"{oops").status_code == 400
    too_many = [{"token": str(i), "email": "a@x.io"} for i in range(10_001)]
    r = client.post(tokens_url(app_uuid), json={"tokens": too_many})
    assert r.status_code == 400 and "10000" in r.json()["detail"]


def test_ten_thousand_in_one_request(client: TestClient, app_uuid: str, db: Database) -> None:
    items = [{"token": str(100_000 + i), "externalCustomerId": f"c{i}"} for i in range(10_000)]
    r = client.post(tokens_url(app_uuid), json={"tokens": items})
    assert r.status_code == 200, r.text
    assert r.json()["contactsCreated"] == 10_000 and r.json()["tokensAdded"] == 10_000
    assert counts(db) == (10_000, 10_000)


def test_paging_and_total_count(client: TestClient, app_uuid: str) -> None:
    client.post(
        tokens_url(app_uuid),
        json={"tokens": [{"token": str(i), "email": f"{i}@x.io"} for i in range(1, 8)]},
    )
    r = client.get(tokens_url(app_uuid), params={"startindex": 3, "maxrows": 2})
    assert r.headers["TotalCount"] == "7"
    assert [t["token"] for t in r.json()] == ["3", "4"]
    assert client.get(tokens_url(app_uuid), params={"maxrows": 501}).status_code == 400
    assert client.get(tokens_url(app_uuid), params={"startindex": 0}).status_code == 400

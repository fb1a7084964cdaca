"""Ids that leave the database are never handed out again, and click links are bound to
their organisation and delivery (SQLite and PostgreSQL).

On SQLite an INTEGER PRIMARY KEY without AUTOINCREMENT takes max(rowid) + 1: delete the
newest row and its id comes back. A deleted organisation's old click link then recorded
a click on another organisation's new delivery.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from hushcast.core.db import Database
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.models import surrogate_id_tables
from hushcast.orgs.models import organizations
from hushcast.tracking.links import make_click_url, read_click_token
from tests.support.broadcasts import add_delivery, add_message, connect_bot, org_id
from tests.support.service import bearer

LINK = "https://shop.example/sale"


def test_deleted_ids_are_not_reused_through_the_api(client: TestClient) -> None:
    # contacts
    old = client.post("/v1/contact", json={"externalCustomerId": "a"}).json()["id"]
    assert client.delete(f"/v1/contact/{old}").status_code == 200
    new = client.post("/v1/contact", json={"externalCustomerId": "b"}).json()["id"]
    assert new > old
    # A client still holding the old contactId must not reach the new contact.
    r = client.post("/v1/contact", json={"contactId": old, "firstName": "stale"})
    assert r.status_code == 400, r.text
    assert client.get(f"/v1/contact/{new}").json()["firstName"] is None
    # groups
    old = client.post("/v1/groups", json={"name": "g1"}).json()["id"]
    assert client.delete(f"/v1/groups/{old}").status_code == 204
    assert client.post("/v1/groups", json={"name": "g2"}).json()["id"] > old
    # messages
    body = {"name": "m", "text": "hi"}
    old = client.post("/v1/messages/telegram", json=body).json()["id"]
    assert client.delete(f"/v1/messages/telegram/{old}").status_code == 200
    new = client.post("/v1/messages/telegram", json=body).json()["id"]
    assert new > old
    assert client.get(f"/v1/messages/telegram/{old}").status_code == 404


def _delivered(db: Database, app_uuid: str, org: str) -> int:
    mid = add_message(db, org=org)
    return add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="501", status=st.DELIVERED, org=org
    )


def _status(db: Database, delivery_id: int) -> str:
    with db.read() as conn:
        return str(
            conn.execute(select(deliveries.c.status).where(deliveries.c.id == delivery_id)).scalar()
        )


def test_deleted_organisations_click_link_never_counts_on_another_org(
    client: TestClient, db: Database, other_key: str, fake_telegram: Any
) -> None:
    secret = client.app.state.secret  # type: ignore[attr-defined]
    acme_app = connect_bot(client, fake_telegram)
    rival_app = connect_bot(client, fake_telegram, key=other_key)
    old = _delivered(db, acme_app, "acme")
    acme = org_id(db, "acme")
    bound = make_click_url("http://testserver", secret, old, LINK, organization_id=acme)
    unbound = make_click_url("http://testserver", secret, old, LINK)  # a link from before
    with db.transaction() as conn:
        conn.execute(delete(organizations).where(organizations.c.id == acme))

    new = _delivered(db, rival_app, "rival")
    assert new != old  # the deleted organisation's delivery id is not handed out again
    for url in (bound, unbound):
        r = client.get(url.removeprefix("http://testserver"), follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == LINK
    assert _status(db, new) == st.DELIVERED
    assert client.get(f"/v1/apps/{rival_app}", headers=bearer(other_key)).status_code == 200


def test_click_token_is_bound_to_its_organisation_and_delivery(
    client: TestClient, db: Database, other_key: str, fake_telegram: Any
) -> None:
    secret = client.app.state.secret  # type: ignore[attr-defined]
    acme_app = connect_bot(client, fake_telegram)
    rival_app = connect_bot(client, fake_telegram, key=other_key)
    mine = _delivered(db, acme_app, "acme")
    theirs = _delivered(db, rival_app, "rival")
    acme = org_id(db, "acme")

    # A link signed for acme that names rival's delivery (what a reused id would give)
    # redirects, but records nothing on rival's delivery.
    wrong = make_click_url("http://testserver", secret, theirs, LINK, organization_id=acme)
    r = client.get(wrong.removeprefix("http://testserver"), follow_redirects=False)
    assert r.status_code == 302
    assert _status(db, theirs) == st.DELIVERED

    right = make_click_url("http://testserver", secret, mine, LINK, organization_id=acme)
    client.get(right.removeprefix("http://testserver"), follow_redirects=False)
    assert _status(db, mine) == st.CLICKED

    # The signature covers organisation, delivery and link: changing any of them is a 404.
    token = right.rsplit("/", 1)[1]
    target = read_click_token(secret, token)
    assert target is not None and tuple(target) == (acme, mine, LINK)
    payload, signature = token.split(".")
    for forged in (
        make_click_url("", "x", mine, LINK, organization_id=acme + 1).rsplit("/", 1)[1],
        make_click_url("", "x", theirs, LINK, organization_id=acme).rsplit("/", 1)[1],
    ):
        forged_payload = forged.split(".")[0]
        assert read_click_token(secret, f"{forged_payload}.{signature}") is None
        assert client.get(f"/c/{forged_payload}.{signature}").status_code == 404


def test_every_surrogate_id_table_autoincrements_on_sqlite(db: Database) -> None:
    if not db.is_sqlite:
        return  # PostgreSQL identities never reuse values
    with db.read() as conn:
        sql = dict(
            conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()
        )
    names = [t.name for t in surrogate_id_tables()]
    assert {"organizations", "contacts", "deliveries", "broadcasts", "messages"} <= set(names)
    for name in names:
        assert "AUTOINCREMENT" in sql[name], name


def test_unbound_or_malformed_tokens(client: TestClient) -> None:
    secret = client.app.state.secret  # type: ignore[attr-defined]
    assert read_click_token(secret, "x.é") is None
    assert client.get("/c/x.%C3%A9").status_code == 404
    url = make_click_url("", secret, 5, LINK)
    assert tuple(read_click_token(secret, url.rsplit("/", 1)[1]) or ()) == (None, 5, LINK)

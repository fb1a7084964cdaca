"""Contacts in Yespo's shape: POST /v1/contact, POST /v1/contacts (ContactsBulkUpdate),
GET /v1/importstatus/{id}, GET|PUT /v1/contact/{id}, GET /v1/contacts search,
DELETE /v1/contact?externalCustomerId=, POST /v1/contact/subscribe, GET /v1/addressbooks.
Each test sends the body a Yespo client sends and checks the fields it reads."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.yespo_bodies import bulk, yespo_contact


def field_id(client: TestClient, name: str) -> int:
    book = client.get("/api/v1/addressbooks").json()["addressBook"]
    fields = {f["name"]: f["id"] for g in book["fieldGroups"] for f in g["fields"]}
    return int(fields[name])


def test_add_contact_in_yespo_shape_and_read_it_back(client: TestClient) -> None:
    # A field must exist before a client can address it by id: Yespo's UI creates it;
    # here the first write by name does.
    r = client.post(
        "/api/v1/contact",
        json={"externalCustomerId": "seed", "fields": [{"name": "tier", "value": "x"}]},
    )
    assert r.status_code == 200, r.text
    tier = field_id(client, "tier")

    body = yespo_contact(
        "ann@example.com",
        "+380501234567",
        fields=[{"id": tier, "value": "gold"}],
        contactKey="key-ann",
        languageCode="uk",
        groups=[{"name": "VIP"}],
        timeZone="Europe/Kyiv",
    )
    r = client.post("/api/v1/contact", json=body)
    assert r.status_code == 200, r.text
    cid = r.json()["id"]  # what clients read

    c = client.get(f"/api/v1/contact/{cid}").json()
    assert c["id"] == cid
    assert c["firstName"] == "Ann" and c["lastName"] == "Lee"
    assert {"type": "email", "value": "ann@example.com"} in c["channels"]
    assert {"type": "sms", "value": "+380501234567"} in c["channels"]
    assert c["address"] == {
        "region": "Kyiv region",
        "town": "Kyiv",
        "address": "1 Main St",
        "postcode": "01001",
    }
    assert c["fields"] == [{"id": tier, "name": "tier", "value": "gold"}]
    assert c["contactKey"] == "key-ann" and c["languageCode"] == "uk"
    assert [g["name"] for g in c["groups"]] == ["VIP"]
    assert c["groups"][0]["type"] == "Static"
    # The flat keys stay, as before.
    assert c["email"] == "ann@example.com" and c["phone"] == "+380501234567"


def test_second_post_with_same_email_updates_the_contact(client: TestClient) -> None:
    first = client.post("/v1/contact", json=yespo_contact("bob@example.com")).json()
    again = client.post(
        "/v1/contact", json=yespo_contact("bob@example.com", first="Bobby", languageCode="en")
    )
    assert again.status_code == 200
    assert again.json() == {"id": first["id"], "created": False}
    c = client.get(f"/v1/contact/{first['id']}").json()
    assert c["firstName"] == "Bobby" and c["languageCode"] == "en"


def test_flat_shape_still_accepted(client: TestClient) -> None:
    r = client.post(
        "/v1/contact",
        json={"externalCustomerId": "c-1", "email": "c1@example.com", "firstName": "Cy"},
    )
    assert r.status_code == 200, r.text
    c = client.get(f"/v1/contact/{r.json()['id']}").json()
    assert c["externalCustomerId"] == "c-1"
    assert c["channels"] == [{"type": "email", "value": "c1@example.com"}]


def test_unknown_custom_field_id_is_a_clear_400(client: TestClient) -> None:
    r = client.post(
        "/v1/contact", json=yespo_contact("x@example.com", fields=[{"id": 999, "value": "1"}])
    )
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "fields[0].id: no custom field with id 999 (GET /v1/addressbooks lists them)"
    )


def test_other_channel_types_are_ignored(client: TestClient) -> None:
    body = yespo_contact("p@example.com")
    body["channels"].append({"type": "mobilepush", "value": "device-token"})
    r = client.post("/v1/contact", json=body)
    assert r.status_code == 200, r.text
    c = client.get(f"/v1/contact/{r.json()['id']}").json()
    assert c["channels"] == [{"type": "email", "value": "p@example.com"}]


def test_contact_without_identifier_is_400(client: TestClient) -> None:
    r = client.post("/v1/contact", json={"firstName": "Nobody", "channels": []})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "A contact needs an email or sms channel, an externalCustomerId or an id "
        "(flat keys email, phone, contactId work too)"
    )


def test_bulk_answers_async_session_id_and_import_status_is_finished(client: TestClient) -> None:
    body = bulk(
        [yespo_contact("a@example.com"), yespo_contact("b@example.com", first="Bea")],
        dedupeOn="email",
        contactFields=["firstName", "lastName", "email"],
        groupNames=["Newsletter"],
        restoreDeleted=False,
    )
    r = client.post("/api/v1/contacts", json=body)
    assert r.status_code == 200, r.text
    session = r.json()["asyncSessionId"]
    s = client.get(f"/api/v1/importstatus/{session}")
    assert s.status_code == 200
    assert s.json()["status"] == "FINISHED"
    assert s.json()["created"] == 2
    ids = s.json()["ids"]
    found = client.get("/v1/contacts", params={"email": "b@example.com"}).json()
    assert [c["id"] for c in found] == [ids[1]]
    assert [g["name"] for g in found[0]["groups"]] == ["Newsletter"]


def test_bulk_contact_fields_limit_what_changes_on_existing_contacts(client: TestClient) -> None:
    cid = client.post("/v1/contact", json=yespo_contact("d@example.com", last="Old")).json()["id"]
    body = bulk(
        [yespo_contact("d@example.com", first="New", last="Changed")],
        dedupeOn="email",
        contactFields=["firstName"],
    )
    r = client.post("/v1/contacts", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == [cid]
    c = client.get(f"/v1/contact/{cid}").json()
    assert c["firstName"] == "New"
    assert c["lastName"] == "Old"


def test_bulk_dedupe_on_contact_key_and_external_id(client: TestClient) -> None:
    cid = client.post("/v1/contact", json=yespo_contact("k@example.com", contactKey="K-1")).json()[
        "id"
    ]
    r = client.post(
        "/v1/contacts",
        json=bulk([yespo_contact(None, first="Keyed", contactKey="K-1")], dedupeOn="contact_key"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == [cid]
    assert client.get(f"/v1/contact/{cid}").json()["firstName"] == "Keyed"

    ext = client.post("/v1/contact", json={"externalCustomerId": "E-9"}).json()["id"]
    r = client.post(
        "/v1/contacts",
        json=bulk(
            [yespo_contact("e9@example.com", externalCustomerId="E-9")],
            dedupeOn="externalCustomerId",
        ),
    )
    assert r.json()["ids"] == [ext]


def test_bulk_custom_fields_ids_write_only_those_fields(client: TestClient) -> None:
    client.post(
        "/v1/contact",
        json={
            "externalCustomerId": "f",
            "fields": [{"name": "a", "value": "1"}, {"name": "b", "value": "1"}],
        },
    )
    a, b = field_id(client, "a"), field_id(client, "b")
    r = client.post(
        "/v1/contacts",
        json=bulk(
            [
                yespo_contact(
                    "g@example.com", fields=[{"id": a, "value": "2"}, {"id": b, "value": "2"}]
                )
            ],
            dedupeOn="email",
            customFieldsIDs=[a],
        ),
    )
    assert r.status_code == 200, r.text
    c = client.get(f"/v1/contact/{r.json()['ids'][0]}").json()
    assert c["fields"] == [{"id": a, "name": "a", "value": "2"}]


def test_bulk_group_names_exclude(client: TestClient) -> None:
    body = bulk([yespo_contact("h@example.com")], groupNames=["A", "B"])
    cid = client.post("/v1/contacts", json=body).json()["ids"][0]
    client.post(
        "/v1/contacts", json=bulk([yespo_contact("h@example.com")], groupNamesExclude=["A"])
    )
    c = client.get(f"/v1/contact/{cid}").json()
    assert [g["name"] for g in c["groups"]] == ["B"]


def test_bulk_bad_options_are_400(client: TestClient) -> None:
    r = client.post("/v1/contacts", json=bulk([yespo_contact("i@example.com")], dedupeOn="phone2"))
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "dedupeOn must be one of email, sms, email_or_sms, externalCustomerId, id, contact_key"
    )
    r = client.post(
        "/v1/contacts", json=bulk([yespo_contact("i@example.com")], contactFields=["shoeSize"])
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("contactFields: unknown field 'shoeSize'")
    # A bad item names its index, and nothing is written.
    r = client.post(
        "/v1/contacts", json=bulk([yespo_contact("j@example.com"), yespo_contact("not-an-email")])
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("contacts[1].email")
    assert client.get("/v1/contacts", params={"email": "j@example.com"}).json() == []


def test_contact_key_belongs_to_one_contact(client: TestClient) -> None:
    client.post("/v1/contact", json=yespo_contact("l1@example.com", contactKey="same"))
    r = client.post("/v1/contact", json=yespo_contact("l2@example.com", contactKey="same"))
    assert r.status_code == 409
    assert "contactKey: 'same' already belongs to contact" in r.json()["detail"]


def test_import_status_of_unknown_or_other_org_session_is_404(
    client: TestClient, other_key: str
) -> None:
    assert client.get("/v1/importstatus/nope").status_code == 404
    session = client.post("/v1/contacts", json=bulk([yespo_contact("m@example.com")])).json()
    r = client.get(
        f"/v1/importstatus/{session['asyncSessionId']}",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert r.status_code == 404
    assert r.json()["detail"] == "Import session not found"


def test_search_contacts_with_yespo_parameters(client: TestClient) -> None:
    for i in range(3):
        client.post(
            "/v1/contact",
            json=yespo_contact(
                f"s{i}@example.com", f"+38050000000{i}", first="Sam", externalCustomerId=f"s-{i}"
            ),
        )
    client.post("/v1/contact", json=yespo_contact("t@example.com", first="Tom"))
    r = client.get("/api/v1/contacts", params={"firstname": "Sam", "startindex": 2, "maxrows": 1})
    assert r.status_code == 200
    assert r.headers["TotalCount"] == "3"
    assert [c["externalCustomerId"] for c in r.json()] == ["s-1"]
    by = {
        "email": "s2@example.com",
        "sms": "+380500000002",
        "externalCustomerId": "s-2",
    }
    for key, value in by.items():
        found = client.get("/v1/contacts", params={key: value}).json()
        assert [c["externalCustomerId"] for c in found] == ["s-2"], key
    assert client.get("/v1/contacts", params={"lastname": "Nobody"}).json() == []
    assert client.get("/v1/contacts").headers["TotalCount"] == "4"


def test_put_contact_changes_it(client: TestClient) -> None:
    cid = client.post("/v1/contact", json=yespo_contact("u@example.com")).json()["id"]
    r = client.put(
        f"/api/v1/contact/{cid}", json=yespo_contact("u2@example.com", first="Una", id=cid)
    )
    assert r.status_code == 200, r.text
    c = client.get(f"/v1/contact/{cid}").json()
    assert c["email"] == "u2@example.com" and c["firstName"] == "Una"
    r = client.put("/v1/contact/987654", json=yespo_contact("v@example.com"))
    assert r.status_code == 404
    assert r.json()["detail"] == "Contact not found"


def test_delete_contact_by_external_customer_id(client: TestClient) -> None:
    cid = client.post("/v1/contact", json={"externalCustomerId": "gone"}).json()["id"]
    r = client.delete("/api/v1/contact", params={"externalCustomerId": "gone", "erase": "true"})
    assert r.status_code == 200 and r.json() == {"id": cid}
    assert client.get(f"/v1/contact/{cid}").status_code == 404
    r = client.delete("/v1/contact", params={"externalCustomerId": "gone"})
    assert r.status_code == 404
    assert client.delete("/v1/contact").status_code == 400


def test_subscribe_adds_contact_to_groups(client: TestClient) -> None:
    body: dict[str, Any] = {
        "contact": yespo_contact("w@example.com"),
        "groups": ["Subscribers"],
        "formType": "popup",
    }
    r = client.post("/api/v1/contact/subscribe", json=body)
    assert r.status_code == 200, r.text
    c = client.get(f"/v1/contact/{r.json()['id']}").json()
    assert [g["name"] for g in c["groups"]] == ["Subscribers"]


def test_addressbooks_lists_custom_fields_with_ids(client: TestClient) -> None:
    client.post(
        "/v1/contact",
        json={"externalCustomerId": "x", "fields": [{"name": "city", "value": "Lviv"}]},
    )
    r = client.get("/api/v1/addressbooks")
    assert r.status_code == 200
    book = r.json()["addressBook"]
    assert book["addressBookId"] == 1
    fields = book["fieldGroups"][0]["fields"]
    assert [(f["name"], f["type"]["name"]) for f in fields] == [("city", "text")]
    assert isinstance(fields[0]["id"], int)


def test_field_id_without_value_erases_nothing(client: TestClient) -> None:
    cid = client.post(
        "/v1/contact",
        json={"email": "fv@example.com", "fields": [{"name": "tier", "value": "gold"}]},
    ).json()["id"]
    tier = field_id(client, "tier")
    # As ok-esputnik 0.3 sends custom fields: the id alone.
    r = client.post("/v1/contact", json=yespo_contact("fv@example.com", fields=[{"id": tier}]))
    assert r.status_code == 200, r.text
    fields = client.get(f"/v1/contact/{cid}").json()["fields"]
    assert fields == [{"id": tier, "name": "tier", "value": "gold"}]


def test_bulk_dedupe_on_email_or_sms(client: TestClient) -> None:
    by_sms = client.post("/v1/contact", json=yespo_contact(None, "+380509998877")).json()["id"]
    r = client.post(
        "/v1/contacts",
        json=bulk(
            [yespo_contact("new@example.com", "+380509998877", first="Sam")],
            dedupeOn="email_or_sms",
            contactFields=["firstName", "email"],
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == [by_sms]
    c = client.get(f"/v1/contact/{by_sms}").json()
    assert c["firstName"] == "Sam" and c["email"] == "new@example.com"

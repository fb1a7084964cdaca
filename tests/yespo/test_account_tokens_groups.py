"""The calls Yespo clients make on start-up (account/info, version), Yespo's token
look-ups, and groups by Yespo's paths (/v1/group/{id}/contacts[/attach|/detach])."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.support.yespo_bodies import yespo_contact


def basic(key: str) -> dict[str, str]:
    # What every eSputnik SDK sends: HTTP Basic, any user name, the key as password.
    return {"Authorization": "Basic " + base64.b64encode(f"user:{key}".encode()).decode()}


def test_account_info_checks_credentials(client: TestClient, api_key: str) -> None:
    r = client.get("/api/v1/account/info", headers=basic(api_key))
    assert r.status_code == 200
    assert r.json() == {"userEmail": "", "organisationName": "acme"}
    r = client.get("/api/v1/account/info", headers=basic("wrong"))
    assert r.status_code == 401


def test_version(client: TestClient) -> None:
    r = client.get("/api/v1/version")
    assert r.status_code == 200
    assert r.json()["version"] == "1.0"


def register(client: TestClient, app_uuid: str, token: str, email: str) -> int:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens", json={"tokens": [{"token": token, "email": email}]}
    )
    assert r.status_code == 200, r.text
    return int(client.get("/v1/contacts", params={"email": email}).json()[0]["id"])


def test_token_contact_id_and_activation(client: TestClient, app_uuid: str) -> None:
    cid = register(client, app_uuid, "555001", "tok@example.com")
    r = client.get(f"/api/v1/contact/token/{app_uuid}/555001/contactId")
    assert r.status_code == 200
    assert r.json() == {"id": cid}

    assert client.get(f"/v1/contact/token/activated/{app_uuid}/555001").json() == {"active": True}
    r = client.put(f"/v1/contact/token/activated/{app_uuid}/555001", json={"active": False})
    assert r.status_code == 200 and r.json() == {"active": False}
    assert client.get(f"/v1/contact/token/activated/{app_uuid}/555001").json() == {"active": False}
    tokens = client.get(f"/v1/contact/{cid}").json()["tokens"]
    assert tokens[0]["active"] is False
    client.put(f"/v1/contact/token/activated/{app_uuid}/555001", json={"active": True})
    assert client.get(f"/v1/contact/{cid}").json()["tokens"][0]["active"] is True


def test_token_look_up_errors(client: TestClient, app_uuid: str) -> None:
    r = client.get(f"/v1/contact/token/{app_uuid}/404404/contactId")
    assert r.status_code == 404 and r.json()["detail"] == "Token not found"
    r = client.get("/v1/contact/token/not-a-uuid/1/contactId")
    assert r.status_code == 400 and r.json()["detail"] == "Wrong app uuid"
    r = client.get("/v1/contact/token/8182a34b-9c87-4777-8de1-598f2df9de4f/1/contactId")
    assert r.status_code == 404 and r.json()["detail"] == "Not registered application"


def test_groups_by_yespo_paths(client: TestClient) -> None:
    gid = client.post("/v1/groups", json={"name": "VIP"}).json()["id"]
    listed = client.get("/api/v1/groups").json()
    assert listed == [{"id": gid, "name": "VIP", "type": "Static", "contacts": 0}]
    a = client.post("/v1/contact", json=yespo_contact("ga@example.com")).json()["id"]
    b = client.post("/v1/contact", json=yespo_contact("gb@example.com")).json()["id"]

    r = client.post(f"/api/v1/group/{gid}/contacts/attach", json={"contactIds": [a, b]})
    assert r.status_code == 200 and r.json() == {"added": 2}
    r = client.get(f"/api/v1/group/{gid}/contacts", params={"maxrows": 1})
    assert r.headers["TotalCount"] == "2"
    assert [c["id"] for c in r.json()] == [a]
    assert r.json()[0]["channels"] == [{"type": "email", "value": "ga@example.com"}]

    r = client.post(f"/api/v1/group/{gid}/contacts/detach", json={"contactIds": [a]})
    assert r.status_code == 200 and r.json() == {"removed": 1}
    assert [c["id"] for c in client.get(f"/v1/group/{gid}/contacts").json()] == [b]
    assert client.get("/v1/group/999/contacts").status_code == 404

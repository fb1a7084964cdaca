"""Groups (static segments): CRUD and membership, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import Database
from hushcast.groups.models import group_contacts, groups
from hushcast.groups.service import group_ids_exist
from hushcast.messages.models import messages
from tests.support.service import bearer


def assert_problem(r: Any, status: int, detail: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if detail is not None:
        assert r.json()["detail"] == detail


def new_group(client: TestClient, name: str = "VIP") -> int:
    r = client.post("/v1/groups", json={"name": name})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_contacts(client: TestClient, n: int, prefix: str = "c") -> list[int]:
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                {"externalCustomerId": f"{prefix}{i}", "email": f"{prefix}{i}@x.io"}
                for i in range(n)
            ]
        },
    )
    assert r.status_code == 200, r.text
    return list(r.json()["ids"])


def members(client: TestClient, gid: int) -> list[int]:
    r = client.get(f"/v1/groups/{gid}/contacts")
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()]


def membership_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(group_contacts)).scalar_one())


def delete_json(client: TestClient, url: str, body: Any, **kw: Any) -> Any:
    return client.request("DELETE", url, json=body, **kw)


# --- CRUD --------------------------------------------------------------------------


def test_create_get_list_delete(client: TestClient) -> None:
    r = client.post("/v1/groups", json={"name": "  Newsletter  "})
    assert r.status_code == 201, r.text
    g = r.json()
    assert g == {"id": g["id"], "name": "Newsletter", "type": "Static", "contacts": 0}
    assert client.get(f"/v1/groups/{g['id']}").json() == g
    other = new_group(client, "Other")
    ids = new_contacts(client, 3)
    client.post(f"/v1/groups/{other}/contacts", json={"contactIds": ids})
    r = client.get("/v1/groups")
    assert r.status_code == 200
    assert r.headers["TotalCount"] == "2"
    assert r.json() == [g, {"id": other, "name": "Other", "type": "Static", "contacts": 3}]
    assert client.delete(f"/v1/groups/{g['id']}").status_code == 204
    assert_problem(client.get(f"/v1/groups/{g['id']}"), 404, "Group not found")
    assert_problem(client.delete(f"/v1/groups/{g['id']}"), 404, "Group not found")
    assert [x["id"] for x in client.get("/v1/groups").json()] == [other]


def test_list_paging(client: TestClient) -> None:
    ids = [new_group(client, f"g{i}") for i in range(5)]
    r = client.get("/v1/groups", params={"startindex": 2, "maxrows": 2})
    assert r.headers["TotalCount"] == "5"
    assert [g["id"] for g in r.json()] == ids[1:3]
    assert client.get("/v1/groups", params={"startindex": 9}).json() == []
    assert client.get("/v1/groups", params={"maxrows": 0}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 301},
        {"name": None},
        {"name": 5},
        {"name": "a\x00b"},
    ],
)
def test_create_validation(client: TestClient, db: Database, body: dict[str, Any]) -> None:
    assert_problem(client.post("/v1/groups", json=body), 400)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(groups)).scalar_one() == 0


def test_name_limits(client: TestClient) -> None:
    assert client.post("/v1/groups", json={"name": "x" * 300}).status_code == 201
    assert client.post("/v1/groups", json={"name": "y"}).status_code == 201


def test_delete_group_keeps_contacts(client: TestClient, db: Database) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 2)
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids})
    assert client.delete(f"/v1/groups/{gid}").status_code == 204
    assert membership_rows(db) == 0
    assert client.get(f"/v1/contact/{ids[0]}").status_code == 200


def test_bad_ids_in_path(client: TestClient) -> None:
    assert_problem(client.get("/v1/groups/abc"), 400)
    assert_problem(client.get("/v1/groups/0"), 404, "Group not found")
    assert_problem(client.get(f"/v1/groups/{2**70}"), 404, "Group not found")
    assert_problem(client.delete(f"/v1/groups/{2**70}"), 404, "Group not found")


# --- membership --------------------------------------------------------------------


def test_add_is_idempotent(client: TestClient, db: Database) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 4)
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids[:2]})
    assert r.status_code == 200 and r.json() == {"added": 2}
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids + [ids[0]]})
    assert r.json() == {"added": 2}
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids})
    assert r.json() == {"added": 0}
    assert members(client, gid) == ids
    assert client.get(f"/v1/groups/{gid}").json()["contacts"] == 4
    assert membership_rows(db) == 4


def test_add_and_remove_by_external_id(client: TestClient) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 3)
    r = client.post(f"/v1/groups/{gid}/contacts", json={"externalCustomerIds": ["c0", "c2"]})
    assert r.json() == {"added": 2}
    r = client.post(
        f"/v1/groups/{gid}/contacts", json={"externalCustomerIds": ["c1"], "contactIds": [ids[0]]}
    )
    assert r.json() == {"added": 1}
    r = delete_json(client, f"/v1/groups/{gid}/contacts", {"externalCustomerIds": ["c2"]})
    assert r.status_code == 200 and r.json() == {"removed": 1}
    assert members(client, gid) == ids[:2]


def test_remove_is_idempotent(client: TestClient) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 3)
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids[:2]})
    r = delete_json(client, f"/v1/groups/{gid}/contacts", {"contactIds": ids})
    assert r.json() == {"removed": 2}
    r = delete_json(client, f"/v1/groups/{gid}/contacts", {"contactIds": ids})
    assert r.json() == {"removed": 0}
    assert members(client, gid) == []


def test_unknown_ids_are_400_and_nothing_applied(client: TestClient, db: Database) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 2)
    unknown = list(range(900_000, 900_012))
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids + unknown})
    shown = ", ".join(str(i) for i in unknown[:10])
    assert_problem(r, 400, f"Unknown contactIds: {shown} (and 2 more)")
    r = client.post(
        f"/v1/groups/{gid}/contacts", json={"contactIds": ids, "externalCustomerIds": ["c0", "zz"]}
    )
    assert_problem(r, 400, "Unknown externalCustomerIds: zz")
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": [ids[0], 5_000_000, 2**70]})
    assert_problem(r, 400, f"Unknown contactIds: 5000000, {2**70}")
    assert membership_rows(db) == 0
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids})
    r = delete_json(
        client,
        f"/v1/groups/{gid}/contacts",
        {"contactIds": [ids[0], 777_777], "externalCustomerIds": ["nope"]},
    )
    assert_problem(r, 400, "Unknown contactIds: 777777; Unknown externalCustomerIds: nope")
    assert members(client, gid) == ids


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contactIds": []},
        {"contactIds": None, "externalCustomerIds": []},
        {"contactIds": ["1"]},
        {"contactIds": [True]},
        {"contactIds": [0]},
        {"contactIds": [1.5]},
        {"contactIds": 1},
        {"externalCustomerIds": [""]},
        {"externalCustomerIds": ["  "]},
        {"externalCustomerIds": ["a\x00"]},
        {"externalCustomerIds": ["x" * 201]},
        {"externalCustomerIds": [5]},
    ],
)
def test_member_body_validation(client: TestClient, db: Database, body: dict[str, Any]) -> None:
    gid = new_group(client)
    new_contacts(client, 1)
    assert_problem(client.post(f"/v1/groups/{gid}/contacts", json=body), 400)
    assert_problem(delete_json(client, f"/v1/groups/{gid}/contacts", body), 400)
    assert membership_rows(db) == 0


def test_member_limit(client: TestClient) -> None:
    gid = new_group(client)
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": list(range(1, 10_002))})
    assert_problem(r, 400)
    r = client.post(
        f"/v1/groups/{gid}/contacts",
        json={"contactIds": list(range(1, 5002)), "externalCustomerIds": ["a"] * 5000},
    )
    assert_problem(r, 400, "At most 10000 contacts per request")


def test_bulk_membership_set_based(client: TestClient, db: Database) -> None:
    gid = new_group(client)
    ids = new_contacts(client, 3000)
    r = client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids[:1000]})
    assert r.json() == {"added": 1000}
    r = client.post(
        f"/v1/groups/{gid}/contacts", json={"externalCustomerIds": [f"c{i}" for i in range(3000)]}
    )
    assert r.json() == {"added": 2000}
    r = client.get(f"/v1/groups/{gid}/contacts", params={"startindex": 2001, "maxrows": 500})
    assert r.headers["TotalCount"] == "3000"
    assert [c["id"] for c in r.json()] == sorted(ids)[2000:2500]
    r = delete_json(client, f"/v1/groups/{gid}/contacts", {"contactIds": ids[::2]})
    assert r.json() == {"removed": 1500}
    assert client.get(f"/v1/groups/{gid}").json()["contacts"] == 1500


def test_list_members_shape(client: TestClient) -> None:
    gid = new_group(client)
    r = client.post("/v1/contact", json={"phone": "123", "firstName": "P"})
    cid = r.json()["id"]
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": [cid]})
    r = client.get(f"/v1/groups/{gid}/contacts")
    assert r.headers["TotalCount"] == "1"
    assert r.json() == [{"id": cid, "externalCustomerId": None, "email": None, "phone": "123"}]


def test_external_id_names_one_contact(client: TestClient) -> None:
    gid = new_group(client)
    a = client.post("/v1/contact", json={"email": "a@x.io"}).json()["id"]
    b = client.post("/v1/contact", json={"phone": "9"}).json()["id"]
    r = client.post(
        "/v1/contacts",
        json={
            "contacts": [
                {"contactId": a, "externalCustomerId": "dup"},
                {"contactId": b, "externalCustomerId": "dup"},
            ]
        },
    )
    assert r.status_code == 409, r.text  # one contact per externalCustomerId
    client.post("/v1/contact", json={"contactId": a, "externalCustomerId": "dup"})
    r = client.post(f"/v1/groups/{gid}/contacts", json={"externalCustomerIds": ["dup"]})
    assert r.json() == {"added": 1}
    r = delete_json(client, f"/v1/groups/{gid}/contacts", {"externalCustomerIds": ["dup"]})
    assert r.json() == {"removed": 1}


# --- organisation scoping -----------------------------------------------------------


def test_other_organisation_sees_unknown_group(
    client: TestClient, other_key: str, db: Database
) -> None:
    gid = new_group(client, "Mine")
    ids = new_contacts(client, 2)
    client.post(f"/v1/groups/{gid}/contacts", json={"contactIds": ids[:1]})
    h = bearer(other_key)
    assert client.get("/v1/groups", headers=h).json() == []
    assert client.get("/v1/groups", headers=h).headers["TotalCount"] == "0"
    assert_problem(client.get(f"/v1/groups/{gid}", headers=h), 404, "Group not found")
    assert_problem(client.get(f"/v1/groups/{gid}/contacts", headers=h), 404, "Group not found")
    for body in ({"contactIds": ids}, {"externalCustomerIds": ["c0"]}):
        assert_problem(
            client.post(f"/v1/groups/{gid}/contacts", json=body, headers=h), 404, "Group not found"
        )
        assert_problem(
            delete_json(client, f"/v1/groups/{gid}/contacts", body, headers=h),
            404,
            "Group not found",
        )
    assert_problem(client.delete(f"/v1/groups/{gid}", headers=h), 404, "Group not found")
    assert client.get(f"/v1/groups/{gid}").json() == {
        "id": gid,
        "name": "Mine",
        "type": "Static",
        "contacts": 1,
    }
    assert members(client, gid) == ids[:1]


def test_other_organisation_contacts_are_unknown(
    client: TestClient, other_key: str, db: Database
) -> None:
    ids = new_contacts(client, 2)
    h = bearer(other_key)
    r = client.post("/v1/groups", json={"name": "Theirs"}, headers=h)
    their_group = r.json()["id"]
    r = client.post(f"/v1/groups/{their_group}/contacts", json={"contactIds": ids}, headers=h)
    assert_problem(r, 400, f"Unknown contactIds: {ids[0]}, {ids[1]}")
    r = client.post(
        f"/v1/groups/{their_group}/contacts", json={"externalCustomerIds": ["c0"]}, headers=h
    )
    assert_problem(r, 400, "Unknown externalCustomerIds: c0")
    assert membership_rows(db) == 0


def test_group_ids_exist_helper(client: TestClient, other_key: str, db: Database) -> None:
    mine = [new_group(client, "a"), new_group(client, "b")]
    theirs = client.post("/v1/groups", json={"name": "t"}, headers=bearer(other_key)).json()["id"]
    with db.read() as conn:
        org_id = conn.execute(
            select(groups.c.organization_id).where(groups.c.id == mine[0])
        ).scalar_one()
        assert group_ids_exist(conn, org_id, mine) == []
        assert group_ids_exist(conn, org_id, []) == []
        assert group_ids_exist(conn, org_id, [theirs, mine[1], 424242, theirs, 2**70]) == [
            theirs,
            424242,
            2**70,
        ]
        many = list(range(1_000_000, 1_002_000))
        assert group_ids_exist(conn, org_id, many + mine) == many


def test_deleting_group_named_by_broadcast_is_fine(
    client: TestClient, app_uuid: str, db: Database
) -> None:
    gid = new_group(client)
    now = datetime(2030, 1, 1)
    with db.transaction() as conn:
        org_id = conn.execute(
            select(groups.c.organization_id).where(groups.c.id == gid)
        ).scalar_one()
        app_id = conn.execute(select(apps.c.id).where(apps.c.uuid == app_uuid)).scalar_one()
        message_id = conn.execute(
            insert(messages)
            .values(organization_id=org_id, name="m", text="t", created_at=now, updated_at=now)
            .returning(messages.c.id)
        ).scalar_one()
        conn.execute(
            insert(broadcasts).values(
                organization_id=org_id,
                app_id=app_id,
                message_id=message_id,
                groups=[gid],
                excluded_groups=[gid],
                start_date=now,
                status="SCHEDULED",
                created_at=now,
            )
        )
    assert client.delete(f"/v1/groups/{gid}").status_code == 204
    with db.read() as conn:
        assert conn.execute(select(broadcasts.c.groups)).scalar_one() == [gid]


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_prefixes(client: TestClient, prefix: str) -> None:
    r = client.post(f"{prefix}/groups", json={"name": "P"})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    ids = new_contacts(client, 1)
    assert client.post(f"{prefix}/groups/{gid}/contacts/", json={"contactIds": ids}).json() == {
        "added": 1
    }
    assert client.get(f"{prefix}/groups/{gid}/contacts").json()[0]["id"] == ids[0]
    assert client.get(f"{prefix}/groups/").headers["TotalCount"] == "1"
    assert client.get(f"{prefix}/groups/{gid}").status_code == 200
    r = client.request("DELETE", f"{prefix}/groups/{gid}/contacts", json={"contactIds": ids})
    assert r.json() == {"removed": 1}
    assert client.delete(f"{prefix}/groups/{gid}").status_code == 204

"""The dashboard's forms through TestClient (SQLite and PostgreSQL): validation errors at
the field, CSRF, the same services as the API, and nothing of another organisation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.timeutil import utcnow
from hushcast.web import csv_import
from tests.support.service import bearer, new_bot_token
from tests.support.waiting import wait_for
from tests.support.web import register, signed_in


def post(client: TestClient, url: str, csrf: str, **kw: Any) -> Any:
    return client.post(url, headers={"X-CSRF-Token": csrf}, follow_redirects=False, **kw)


def test_forms_refuse_a_missing_csrf_token(client: TestClient, api_key: str, app_uuid: str):
    signed_in(client, api_key)
    for url, data in (
        ("/ui/apps", {"bot_token": "1:x"}),
        (f"/ui/apps/{app_uuid}/settings", {"name": "x"}),
        (f"/ui/apps/{app_uuid}/delete", {}),
        ("/ui/messages/save", {"name": "n", "text": "t"}),
        ("/ui/groups", {"name": "g"}),
        ("/ui/keys", {"name": "k"}),
        ("/ui/broadcasts/new", {"message_id": "1"}),
    ):
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
    assert client.get(f"/v1/apps/{app_uuid}").status_code == 200


def test_bot_connect_rename_limits_and_remove(client: TestClient, api_key: str, fake_telegram: Any):
    csrf = signed_in(client, api_key)
    r = post(client, "/ui/apps", csrf, data={"bot_token": "not a token"})
    assert (
        r.status_code == 400 and "Invalid bot token" in r.text and 'aria-invalid="true"' in r.text
    )
    r = post(client, "/ui/apps", csrf, data={"bot_token": "123:unknownToken"})
    assert r.status_code == 400 and "Invalid bot token" in r.text
    r = post(
        client, "/ui/apps", csrf, data={"bot_token": new_bot_token(fake_telegram), "name": "Shop"}
    )
    assert r.status_code == 303
    uuid = r.headers["location"].split("/")[3]
    assert client.get(f"/v1/apps/{uuid}").json()["name"] == "Shop"
    r = post(
        client,
        f"/ui/apps/{uuid}/settings",
        csrf,
        data={"name": "Shop 2", "messagesPerSecond": "5000", "groupPerMinute": "abc"},
    )
    assert r.status_code == 400
    assert "f-messagesPerSecond-error" in r.text and "f-groupPerMinute-error" in r.text
    assert client.get(f"/v1/apps/{uuid}").json()["name"] == "Shop"  # nothing changed
    r = post(
        client,
        f"/ui/apps/{uuid}/settings",
        csrf,
        data={"name": "Shop 2", "messagesPerSecond": "12.5", "paidBroadcast": "on"},
    )
    assert r.status_code == 200 and "Saved." in r.text
    app = client.get(f"/v1/apps/{uuid}").json()
    assert (app["name"], app["messagesPerSecond"], app["paidBroadcast"]) == ("Shop 2", 12.5, True)
    assert post(client, f"/ui/apps/{uuid}/delete", csrf).status_code == 303
    assert client.get(f"/v1/apps/{uuid}").status_code == 404


def test_subscriber_filters_bulk_mute_and_muted_now(
    client: TestClient, api_key: str, app_uuid: str
):
    register(client, app_uuid, ["1001", "1002", "1003"])
    # A mute for a chat id that never subscribed is kept but not counted in mutedNow.
    assert client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "9999"}).status_code == 200
    assert client.get(f"/v1/apps/{app_uuid}").json()["mutedNow"] == 0
    csrf = signed_in(client, api_key)
    r = post(
        client,
        f"/ui/apps/{app_uuid}/bulk",
        csrf,
        data={"action": "mute", "token": ["1001", "1002"], "duration": "custom", "custom": "2"},
    )
    assert r.status_code == 400 and "duration" in r.text.lower()
    r = post(
        client,
        f"/ui/apps/{app_uuid}/bulk",
        csrf,
        data={"action": "mute", "token": ["1001", "1002"], "duration": "forever"},
    )
    assert r.status_code == 303 and "Muted+2+subscribers" in r.headers["location"]
    assert client.get(f"/v1/apps/{app_uuid}").json()["mutedNow"] == 2
    muted = client.get(f"/ui/apps/{app_uuid}?status=muted").text
    assert 'data-token="1001"' in muted and 'data-token="1003"' not in muted
    active = client.get(f"/ui/apps/{app_uuid}?status=active").text
    assert 'data-token="1003"' in active and 'data-token="1001"' not in active
    r = post(
        client, f"/ui/apps/{app_uuid}/bulk", csrf, data={"action": "unmute", "token": ["1001"]}
    )
    assert r.status_code == 303
    assert client.get(f"/v1/apps/{app_uuid}").json()["mutedNow"] == 1
    assert (
        post(client, f"/ui/apps/{app_uuid}/bulk", csrf, data={"action": "mute"}).status_code == 400
    )


def test_csv_import_preview_mapping_and_summary(client: TestClient, api_key: str, app_uuid: str):
    csrf = signed_in(client, api_key)
    data = "chat_id;customer_id;note\n5001;c-1;a\n5002;c-2;b\nabc;c-3;c\n5004;;d\n"
    r = post(
        client,
        f"/ui/apps/{app_uuid}/import",
        csrf,
        files={"file": ("subs.csv", data.encode(), "text/csv")},
    )
    assert r.status_code == 303
    job_url = r.headers["location"]
    preview = client.get(job_url)
    assert preview.status_code == 200 and "5002" in preview.text and 'id="preview"' in preview.text
    r = post(client, job_url, csrf, data={"column": ["", "externalCustomerId", ""]})
    assert r.status_code == 400 and "chat id" in r.text
    r = post(client, job_url, csrf, data={"column": ["token", "externalCustomerId", ""]})
    assert r.status_code == 303

    def finished() -> str | None:
        page = client.get(job_url + "/progress").text
        return page if 'data-done="1"' in page else None

    page = wait_for(finished, timeout=20)
    # 5004 without a customer id is a bare chat id: it gets a contact of its own (as in the API).
    assert re.search(r'data-counter="added"><dt>[^<]*</dt><dd>3</dd>', page)
    assert re.search(r'data-counter="rejected"><dt>[^<]*</dt><dd>1</dd>', page)
    assert '<td class="num">4</td>' in page and '<td class="num">5</td>' not in page
    tokens = client.get(f"/v1/apps/{app_uuid}/tokens").json()
    assert sorted(t["token"] for t in tokens) == ["5001", "5002", "5004"]
    r = post(
        client, f"/ui/apps/{app_uuid}/import", csrf, files={"file": ("x.csv", b"\xff\xfe\x00")}
    )
    assert r.status_code == 400 and "UTF-8" in r.text


def test_csv_mapping_guess() -> None:
    table = csv_import.read_table(b"Phone,Token,External ID\n+380501234567,77,e1\n")
    assert table.has_header and csv_import.guess_mapping(table) == [
        "phone",
        "token",
        "externalCustomerId",
    ]
    bare = csv_import.read_table(b"77,a@b.c\n78,d@e.f\n")
    assert not bare.has_header and csv_import.guess_mapping(bare) == ["token", "email"]


def test_message_editor_field_errors_and_test_send(
    client: TestClient, api_key: str, app_uuid: str, fake_telegram: Any
):
    register(client, app_uuid, ["1001"])
    csrf = signed_in(client, api_key)
    r = post(
        client,
        "/ui/messages/save",
        csrf,
        data={
            "name": " ",
            "text": "Hi #if(",
            "button_text": ["Open"],
            "button_link": ["ftp://x"],
        },
    )
    assert r.status_code == 400
    assert 'data-error-for="name"' in r.text and 'data-error-for="buttons.0.link"' in r.text
    r = post(client, "/ui/messages/save", csrf, data={"name": "N", "text": "Hi #if($x) no end"})
    assert r.status_code == 400 and 'data-error-for="text"' in r.text
    assert client.get("/v1/messages/telegram").json() == []
    r = post(
        client,
        "/ui/messages/save",
        csrf,
        data={
            "name": "Promo",
            "text": "Hi %FIRSTNAME|there%",
            "imageSource": "https://example.com/a.png",
            "button_text": ["Shop", ""],
            "button_link": ["https://example.com", ""],
            "tags": "sale, spring",
        },
    )
    assert r.status_code == 303
    mid = int(r.headers["location"].split("/")[3].split("?")[0])
    m = client.get(f"/v1/messages/telegram/{mid}").json()
    assert m["buttons"] == [{"text": "Shop", "link": "https://example.com"}]
    assert m["tags"] == ["sale", "spring"]
    r = post(client, f"/ui/messages/{mid}/test", csrf, data={"app_uuid": app_uuid, "chats": ""})
    assert r.status_code == 400 and "at least one chat id" in r.text
    r = post(
        client, f"/ui/messages/{mid}/test", csrf, data={"app_uuid": app_uuid, "chats": "1001, 42"}
    )
    assert r.status_code == 200
    assert 'data-status="OK"' in r.text and 'data-status="ERROR"' in r.text


def test_broadcast_form_refuses_a_past_time_and_schedules_in_the_viewer_zone(
    client: TestClient, api_key: str, app_uuid: str
):
    mid = client.post("/v1/messages/telegram", json={"name": "M", "text": "t"}).json()["id"]
    csrf = signed_in(client, api_key)
    client.cookies.set("hc_tz", "Asia/Tokyo", path="/ui")
    r = post(
        client,
        "/ui/broadcasts/new",
        csrf,
        data={
            "message_id": str(mid),
            "app_uuid": app_uuid,
            "when": "later",
            "start_local": "2020-01-01T10:00",
        },
    )
    assert r.status_code == 400 and "is in the past" in r.text and "Asia/Tokyo" in r.text
    r = post(
        client,
        "/ui/broadcasts/new",
        csrf,
        data={
            "message_id": str(mid),
            "app_uuid": app_uuid,
            "batch_size": "10",
            "batch_unit": "WEEK",
        },
    )
    assert r.status_code == 400 and 'data-error-for="throttle"' in r.text
    assert client.get("/v1/broadcasts").json() == []
    start_utc = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    local = start_utc + timedelta(hours=9)  # Tokyo has no daylight saving time
    r = post(
        client,
        "/ui/broadcasts/new",
        csrf,
        data={
            "message_id": str(mid),
            "app_uuid": app_uuid,
            "when": "later",
            "start_local": local.strftime("%Y-%m-%dT%H:%M"),
            "batch_size": "10",
            "batch_unit": "MINUTE",
        },
    )
    assert r.status_code == 303
    bid = int(r.headers["location"].rsplit("/", 1)[1])
    b = client.get(f"/v1/broadcast/{bid}").json()
    assert b["startDate"] == start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (b["batchSize"], b["batchIntervalUnit"]) == (10, "MINUTE")
    row = client.get(f"/ui/broadcasts/{bid}/row")
    assert row.status_code == 200 and 'hx-trigger="every 2s"' in row.text


def test_groups_members_by_selection_and_csv(client: TestClient, api_key: str, app_uuid: str):
    register(client, app_uuid, ["1001", "1002", "1003"])
    csrf = signed_in(client, api_key)
    r = post(client, "/ui/groups", csrf, data={"name": "  "})
    assert r.status_code == 400
    r = post(client, "/ui/groups", csrf, data={"name": "VIP"})
    gid = int(r.headers["location"].rsplit("/", 1)[1])
    contacts = client.get("/ui/contacts").text
    ids = re.findall(r'data-contact="(\d+)"', contacts)
    assert len(ids) == 3
    r = post(
        client, "/ui/contacts/add-to-group", csrf, data={"group_id": str(gid), "contact": ids[:2]}
    )
    assert r.status_code == 303 and "Added+2" in r.headers["location"]
    r = post(
        client,
        f"/ui/groups/{gid}/csv",
        csrf,
        data={"action": "add"},
        files={"file": ("m.csv", b"externalCustomerId\ncust-1001\n")},
    )
    assert r.status_code == 303 and "Added+1" in r.headers["location"]
    r = post(
        client,
        f"/ui/groups/{gid}/csv",
        csrf,
        data={"action": "add"},
        files={"file": ("m.csv", b"externalCustomerId\nnobody\n")},
    )
    assert "Unknown+externalCustomerIds" in r.headers["location"]
    assert client.get(f"/v1/groups/{gid}").json()["contacts"] == 3
    r = post(
        client, f"/ui/groups/{gid}/members", csrf, data={"action": "remove", "contact": [ids[0]]}
    )
    assert r.status_code == 303
    assert client.get(f"/v1/groups/{gid}").json()["contacts"] == 2
    detail = client.get(f"/ui/contacts/{ids[1]}")
    assert detail.status_code == 200 and "VIP" in detail.text and 'id="chats"' in detail.text


def test_keys_admin_creates_shows_once_and_revokes(client: TestClient, api_key: str, db: Any):
    csrf = signed_in(client, api_key)
    r = post(client, "/ui/keys", csrf, data={"name": "ci"})
    assert r.status_code == 200
    key = re.search(r'id="new-key" class="secret">(hc_[^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert client.get("/v1/ping", headers=bearer(key)).status_code == 200
    assert key not in client.get("/ui/keys").text  # shown once
    key_id = client.get("/v1/ping", headers=bearer(key)).json()["apiKeyId"]
    own = client.get("/v1/ping").json()["apiKeyId"]
    r = post(client, f"/ui/keys/{own}/revoke", csrf)
    assert r.status_code == 400 and "signed in with" in r.text
    assert post(client, f"/ui/keys/{key_id}/revoke", csrf).status_code == 303
    assert client.get("/v1/ping", headers=bearer(key)).status_code == 401
    # A member key (not admin) cannot manage keys.
    r = post(client, "/ui/keys", csrf, data={"name": "member"})
    member = re.search(r'id="new-key" class="secret">(hc_[^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    client.cookies.clear()
    csrf2 = signed_in(client, member)
    assert client.get("/ui/keys").status_code == 403
    assert post(client, "/ui/keys", csrf2, data={"name": "x"}).status_code == 403


def test_not_found_page_says_it_once_and_docs_are_offline(client: TestClient, api_key: str):
    signed_in(client, api_key)
    r = client.get("/ui/broadcasts/999999")
    assert r.status_code == 404
    main = r.text.split("<main>")[1]
    assert (
        main.count("Not found") == 1
        and "Broadcast not found" not in main
        or main.count("ot found") <= 2
    )
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200

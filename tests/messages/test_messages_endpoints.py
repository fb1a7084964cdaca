"""Telegram messages CRUD, validation, search and isolation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import Database
from hushcast.messages.models import messages
from tests.support.service import bearer

URL = "/v1/messages/telegram"


def assert_problem(r, status: int, detail: str | None = None) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    if detail is not None:
        assert body["detail"] == detail
    return str(body["detail"])


def body(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Welcome", "text": "Hello %FIRSTNAME|friend%!"}
    base.update(over)
    return base


def create(client: TestClient, **over: Any) -> int:
    r = client.post(URL, json=body(**over))
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


# ---------------------------------------------------------------- CRUD


def test_create_and_get_full_message(client: TestClient) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    payload = body(
        text="Hi $!data.get('name')",
        imageSource="https://cdn.example.com/a.png",
        buttons=[
            {"text": "Open", "link": "https://shop.example.com/p?id=1"},
            {"text": "Bot", "link": "tg://resolve?domain=hushbot"},
        ],
        tags=["promo", "spring"],
        unknownField=123,
    )
    r = client.post(URL, json=payload)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id"}
    mid = r.json()["id"]
    assert isinstance(mid, int)

    got = client.get(f"{URL}/{mid}")
    assert got.status_code == 200, got.text
    msg = got.json()
    assert msg["id"] == mid
    assert msg["name"] == "Welcome"
    assert msg["text"] == "Hi $!data.get('name')"
    assert msg["imageSource"] == "https://cdn.example.com/a.png"
    assert msg["buttons"] == payload["buttons"]
    assert msg["tags"] == ["promo", "spring"]
    assert msg["createdAt"].endswith("Z") and msg["updatedAt"].endswith("Z")
    created = parse(msg["createdAt"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert set(msg) == {
        "id",
        "name",
        "text",
        "imageSource",
        "buttons",
        "tags",
        "createdAt",
        "updatedAt",
        "languages",
        "translations",
    }
    assert msg["languages"] == [] and msg["translations"] == []


def test_minimal_message_defaults(client: TestClient) -> None:
    mid = create(client)
    msg = client.get(f"{URL}/{mid}").json()
    assert msg["imageSource"] is None
    assert msg["buttons"] == []
    assert msg["tags"] == []


def test_nulls_and_empty_image_are_accepted(client: TestClient) -> None:
    mid = create(client, imageSource="", buttons=None, tags=None)
    msg = client.get(f"{URL}/{mid}").json()
    assert msg["imageSource"] is None and msg["buttons"] == [] and msg["tags"] == []


def test_put_replaces_whole_message(client: TestClient) -> None:
    mid = create(
        client,
        imageSource="https://x.example/i.jpg",
        buttons=[{"text": "A", "link": "https://a.example"}],
        tags=["t1"],
    )
    r = client.put(f"{URL}/{mid}", json={"name": "Renamed", "text": "New text"})
    assert r.status_code == 200, r.text
    msg = r.json()
    assert msg["id"] == mid
    assert msg["name"] == "Renamed"
    assert msg["text"] == "New text"
    assert msg["imageSource"] is None
    assert msg["buttons"] == []
    assert msg["tags"] == []
    assert client.get(f"{URL}/{mid}").json() == msg
    assert parse(msg["updatedAt"]) >= parse(msg["createdAt"])


def test_put_validates_like_post(client: TestClient) -> None:
    mid = create(client)
    assert_problem(client.put(f"{URL}/{mid}", json={"name": "x"}), 400, "text: Field required")
    assert client.get(f"{URL}/{mid}").json()["name"] == "Welcome"


def test_delete(client: TestClient) -> None:
    mid = create(client)
    r = client.delete(f"{URL}/{mid}")
    assert r.status_code == 200
    assert r.json() == {"id": mid}
    assert_problem(client.get(f"{URL}/{mid}"), 404, "Message not found")
    assert_problem(client.delete(f"{URL}/{mid}"), 404, "Message not found")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("mid", [999999, 0, -1, 2**63, 10**30])
def test_unknown_id_is_404(client: TestClient, method: str, mid: int) -> None:
    kwargs: dict[str, Any] = {"json": body()} if method == "put" else {}
    r = client.request(method.upper(), f"{URL}/{mid}", **kwargs)
    assert_problem(r, 404, "Message not found")


def test_non_integer_id_is_400(client: TestClient) -> None:
    detail = assert_problem(client.get(f"{URL}/abc"), 400)
    assert detail.startswith("message_id:")


def test_delete_used_by_broadcast_is_409(client: TestClient, db: Database, app_uuid: str) -> None:
    mid = create(client)
    with db.transaction() as conn:
        app = conn.execute(select(apps).where(apps.c.uuid == app_uuid)).one()
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(
            insert(broadcasts).values(
                organization_id=app.organization_id,
                app_id=app.id,
                message_id=mid,
                start_date=now,
                status="SCHEDULED",
                created_at=now,
            )
        )
    assert_problem(client.delete(f"{URL}/{mid}"), 409, "Message is used by a broadcast")
    assert client.get(f"{URL}/{mid}").status_code == 200


def test_api_v1_prefix_and_trailing_slash(client: TestClient) -> None:
    r = client.post("/api/v1/messages/telegram", json=body(name="Via api"))
    assert r.status_code == 200, r.text
    mid = r.json()["id"]
    assert client.get(f"/api/v1/messages/telegram/{mid}").json()["name"] == "Via api"
    assert client.get(f"/v1/messages/telegram/{mid}/").json()["name"] == "Via api"
    r = client.put(f"/api/v1/messages/telegram/{mid}", json=body(name="Put via api"))
    assert r.status_code == 200 and r.json()["name"] == "Put via api"
    listed = client.get("/api/v1/messages/telegram")
    assert [m["id"] for m in listed.json()] == [mid]
    assert listed.headers["TotalCount"] == "1"
    assert client.delete(f"/api/v1/messages/telegram/{mid}").status_code == 200


def test_requires_auth(client: TestClient) -> None:
    r = client.get(URL, headers={"Authorization": ""})
    assert r.status_code == 401
    r = client.post(URL, json=body(), headers=bearer("nope"))
    assert r.status_code == 401


# ---------------------------------------------------------------- isolation


def test_other_organisation_gets_404(client: TestClient, other_key: str) -> None:
    mid = create(client, tags=["shared"])
    other = bearer(other_key)
    assert_problem(client.get(f"{URL}/{mid}", headers=other), 404, "Message not found")
    assert_problem(
        client.put(f"{URL}/{mid}", json=body(name="Hijack"), headers=other),
        404,
        "Message not found",
    )
    assert_problem(client.delete(f"{URL}/{mid}", headers=other), 404, "Message not found")
    r = client.get(URL, headers=other, params={"search": "shared"})
    assert r.json() == [] and r.headers["TotalCount"] == "0"
    assert client.get(URL, headers=other).json() == []
    # Untouched for the owner.
    assert client.get(f"{URL}/{mid}").json()["name"] == "Welcome"


def test_other_organisation_sees_its_own(client: TestClient, other_key: str) -> None:
    mine = create(client)
    r = client.post(URL, json=body(name="Theirs"), headers=bearer(other_key))
    theirs = r.json()["id"]
    assert [m["id"] for m in client.get(URL).json()] == [mine]
    assert [m["id"] for m in client.get(URL, headers=bearer(other_key)).json()] == [theirs]


# ---------------------------------------------------------------- list, search, paging


def test_list_search_and_paging(client: TestClient) -> None:
    a = create(client, name="Spring SALE", tags=["promo"])
    b = create(client, name="Order shipped", tags=["transactional", "sale"])
    c = create(client, name="Weekly digest", tags=["news"])
    d = create(client, name="100%_off", tags=[])

    r = client.get(URL)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()] == [d, c, b, a]
    assert r.headers["TotalCount"] == "4"

    # part of the name, case-insensitive, or an exact tag
    r = client.get(URL, params={"search": "sale"})
    assert [m["id"] for m in r.json()] == [b, a]
    assert r.headers["TotalCount"] == "2"
    assert [m["id"] for m in client.get(URL, params={"search": "ship"}).json()] == [b]
    assert [m["id"] for m in client.get(URL, params={"search": "news"}).json()] == [c]
    assert [m["id"] for m in client.get(URL, params={"search": "promo"}).json()] == [a]
    # a tag must be equal, not a part
    assert client.get(URL, params={"search": "prom"}).json() == []
    # LIKE wildcards are literal
    assert [m["id"] for m in client.get(URL, params={"search": "%_"}).json()] == [d]
    assert client.get(URL, params={"search": "_x"}).json() == []
    # blank search lists everything
    assert client.get(URL, params={"search": "  "}).headers["TotalCount"] == "4"

    r = client.get(URL, params={"startindex": 2, "maxrows": 2})
    assert [m["id"] for m in r.json()] == [c, b]
    assert r.headers["TotalCount"] == "4"
    r = client.get(URL, params={"startindex": 4, "maxrows": 2})
    assert [m["id"] for m in r.json()] == [a]
    r = client.get(URL, params={"startindex": 10})
    assert r.json() == [] and r.headers["TotalCount"] == "4"
    r = client.get(URL, params={"search": "sale", "startindex": 2, "maxrows": 1})
    assert [m["id"] for m in r.json()] == [a] and r.headers["TotalCount"] == "2"


def test_list_items_have_full_shape(client: TestClient) -> None:
    mid = create(client, tags=["x"])
    item = client.get(URL).json()[0]
    assert item == client.get(f"{URL}/{mid}").json()


@pytest.mark.parametrize(
    "params", [{"startindex": 0}, {"maxrows": 0}, {"maxrows": 501}, {"startindex": "x"}]
)
def test_bad_paging_is_400(client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(client.get(URL, params=params), 400)


def test_search_non_ascii_tag(client: TestClient) -> None:
    mid = create(client, name="Акція", tags=["знижка"])
    assert [m["id"] for m in client.get(URL, params={"search": "знижка"}).json()] == [mid]


def test_stored_row_belongs_to_caller(client: TestClient, db: Database) -> None:
    mid = create(client)
    with db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == mid)).one()
    assert row.organization_id is not None
    assert row.buttons == [] and row.tags == []


# ---------------------------------------------------------------- validation


def test_text_length_boundaries(client: TestClient) -> None:
    assert client.post(URL, json=body(text="x" * 4096)).status_code == 200
    assert_problem(
        client.post(URL, json=body(text="x" * 4097)), 400, "text: must be at most 4096 characters"
    )
    # characters, not bytes
    assert client.post(URL, json=body(text="é" * 4096)).status_code == 200


def test_text_length_with_image(client: TestClient) -> None:
    img = "https://cdn.example.com/i.png"
    assert client.post(URL, json=body(text="x" * 1024, imageSource=img)).status_code == 200
    assert_problem(
        client.post(URL, json=body(text="x" * 1025, imageSource=img)),
        400,
        "text must be at most 1024 characters when imageSource is set",
    )
    # without the image, 1025 is fine
    assert client.post(URL, json=body(text="x" * 1025, imageSource="")).status_code == 200


def test_put_text_length_with_image(client: TestClient) -> None:
    mid = create(client, text="x" * 2000)
    r = client.put(f"{URL}/{mid}", json=body(text="x" * 2000, imageSource="https://a.b/c.png"))
    assert_problem(r, 400, "text must be at most 1024 characters when imageSource is set")


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"text": "hi"}, "name: Field required"),
        ({"name": "n"}, "text: Field required"),
        ({"name": "", "text": "hi"}, "name: must not be empty"),
        ({"name": "   ", "text": "hi"}, "name: must not be empty"),
        ({"name": "x" * 301, "text": "hi"}, "name: must be at most 300 characters"),
        ({"name": "n", "text": ""}, "text: must not be empty"),
        ({"name": "n", "text": " \n "}, "text: must not be empty"),
        ({"name": 5, "text": "hi"}, "name: Input should be a valid string"),
        ({"name": "n", "text": ["hi"]}, "text: Input should be a valid string"),
    ],
)
def test_name_and_text_rules(client: TestClient, payload: dict[str, Any], detail: str) -> None:
    assert_problem(client.post(URL, json=payload), 400, detail)


def test_name_boundary(client: TestClient) -> None:
    mid = create(client, name="n" * 300)
    assert client.get(f"{URL}/{mid}").json()["name"] == "n" * 300


@pytest.mark.parametrize(
    "image", ["ftp://x.example/a.png", "cdn.example.com/a.png", "https://", "javascript:alert(1)"]
)
def test_image_source_must_be_http_url(client: TestClient, image: str) -> None:
    assert_problem(
        client.post(URL, json=body(imageSource=image)), 400, "imageSource: must be an http(s) URL"
    )


@pytest.mark.parametrize(
    "link",
    [
        "http://example.com",
        "https://example.com/path?q=1#x",
        "HTTPS://EXAMPLE.COM",
        "tg://resolve?domain=hushbot",
        "https://shop.example.com/$!data.get('id')?e=%EMAIL|%",
    ],
)
def test_button_links_accepted(client: TestClient, link: str) -> None:
    mid = create(client, buttons=[{"text": "Go", "link": link}])
    assert client.get(f"{URL}/{mid}").json()["buttons"][0]["link"] == link


@pytest.mark.parametrize(
    "link",
    [
        "",
        "example.com",
        "ftp://example.com/file",
        "mailto:a@b.c",
        "javascript:alert(1)",
        "https://",
        "http:///path",
        "tg://",
        "$!data.get('url')",
    ],
)
def test_button_links_rejected(client: TestClient, link: str) -> None:
    buttons = [
        {"text": "A", "link": "https://a.example"},
        {"text": "B", "link": "https://b.example"},
        {"text": "C", "link": link},
    ]
    assert_problem(
        client.post(URL, json=body(buttons=buttons)),
        400,
        "buttons[2].link: must be an http(s) or tg:// URL",
    )


@pytest.mark.parametrize(
    ("button", "detail"),
    [
        ({"link": "https://a.example"}, "buttons[0].text: Field required"),
        ({"text": "Go"}, "buttons[0].link: Field required"),
        ({"text": "", "link": "https://a.example"}, "buttons[0].text: must not be empty"),
        ({"text": "  ", "link": "https://a.example"}, "buttons[0].text: must not be empty"),
        (
            {"text": "x" * 65, "link": "https://a.example"},
            "buttons[0].text: must be at most 64 characters",
        ),
    ],
)
def test_button_text_rules(client: TestClient, button: dict[str, Any], detail: str) -> None:
    assert_problem(client.post(URL, json=body(buttons=[button])), 400, detail)


def test_button_count_boundary(client: TestClient) -> None:
    button = {"text": "x" * 64, "link": "https://a.example"}
    assert client.post(URL, json=body(buttons=[button] * 100)).status_code == 200
    assert_problem(
        client.post(URL, json=body(buttons=[button] * 101)),
        400,
        "buttons: at most 100 buttons are allowed",
    )


def test_tag_rules(client: TestClient) -> None:
    assert client.post(URL, json=body(tags=[f"t{i}" for i in range(50)])).status_code == 200
    assert_problem(
        client.post(URL, json=body(tags=[f"t{i}" for i in range(51)])),
        400,
        "tags: at most 50 tags are allowed",
    )
    assert client.post(URL, json=body(tags=["x" * 100])).status_code == 200
    assert_problem(
        client.post(URL, json=body(tags=["ok", "x" * 101])),
        400,
        "tags[1]: must be at most 100 characters",
    )
    assert_problem(client.post(URL, json=body(tags=["ok", ""])), 400, "tags[1]: must not be empty")
    assert_problem(
        client.post(URL, json=body(tags=[1])), 400, "tags[0]: Input should be a valid string"
    )
    assert_problem(client.post(URL, json=body(tags="promo")), 400)


def test_tags_are_trimmed_and_deduplicated(client: TestClient) -> None:
    mid = create(client, tags=[" a ", "b", "a"])
    assert client.get(f"{URL}/{mid}").json()["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(text="Hi ${name"), "text"),
        (body(text="#if($x) never closed"), "text"),
        (body(text="$data.__class__"), "text"),
        (body(text="#evaluate('x')"), "text"),
        (
            body(buttons=[{"text": "#foreach($a in", "link": "https://a.example"}]),
            "buttons[0].text",
        ),
        (body(buttons=[{"text": "Go", "link": "https://a.example/${x"}]), "buttons[0].link"),
    ],
)
def test_invalid_template_is_400(client: TestClient, payload: dict[str, Any], field: str) -> None:
    detail = assert_problem(client.post(URL, json=payload), 400)
    assert detail.startswith(f"{field}: invalid template: "), detail
    mid = create(client)
    detail = assert_problem(client.put(f"{URL}/{mid}", json=payload), 400)
    assert detail.startswith(f"{field}: invalid template: "), detail


def test_valid_velocity_is_accepted(client: TestClient) -> None:
    text = (
        "#foreach($i in $!data.get('items'))$i.get('name')#if($foreach.hasNext), #end#end"
        " 50% off #1 $5 %FIRSTNAME|%"
    )
    create(client, text=text)


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b'"text"'])
def test_body_must_be_json_object(client: TestClient, raw: bytes) -> None:
    r = client.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert_problem(r, 400)

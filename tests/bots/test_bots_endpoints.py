"""Connecting bots through getMe on the fake Telegram server; listing, update, delete."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from tests.support.service import bearer, new_bot_token


def test_connect_bot(client: TestClient, fake_telegram: Any) -> None:
    token = new_bot_token(fake_telegram, "shop_bot")
    r = client.post("/v1/apps", json={"botToken": token})
    assert r.status_code == 201, r.text
    body = r.json()
    assert uuid.UUID(body["appUuid"])
    assert body["botUsername"] == "shop_bot"
    assert body["botId"] == int(token.split(":")[0])
    assert token not in r.text
    # Connecting the same bot again returns the same app.
    again = client.post("/v1/apps", json={"botToken": token, "name": "x"})
    assert again.status_code == 200
    assert again.json()["appUuid"] == body["appUuid"]


def test_invalid_token_rejected(client: TestClient, fake_telegram: Any) -> None:
    for token in ("123:unknownTOKEN", "garbage", ""):
        r = client.post("/v1/apps", json={"botToken": token})
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == "Invalid bot token"
    assert client.get("/v1/apps").json() == []


def test_telegram_unreachable_is_502(settings: Settings, db: Database, api_key: str) -> None:
    down = settings.model_copy(update={"telegram_api_url": "http://127.0.0.1:9"})
    with TestClient(create_app(down, db=db)) as c:
        r = c.post("/v1/apps", json={"botToken": "123456:ABCdef"}, headers=bearer(api_key))
    assert r.status_code == 502
    assert "Telegram" in r.json()["detail"]
    assert "123456:ABCdef" not in r.text


def test_list_get_update_delete(client: TestClient, app_uuid: str) -> None:
    client.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": "1", "email": "a@b.c"}, {"token": "2", "email": "b@b.c"}]},
    )
    client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1"})
    apps = client.get("/v1/apps").json()
    assert len(apps) == 1
    assert apps[0]["subscribers"] == 2 and apps[0]["mutedNow"] == 1
    assert "botToken" not in apps[0] and "bot_token" not in apps[0]
    one = client.get(f"/v1/apps/{app_uuid}").json()
    assert one["appUuid"] == app_uuid and one["subscribers"] == 2
    r = client.patch(f"/v1/apps/{app_uuid}", json={"paidBroadcast": True, "messagesPerSecond": 10})
    assert (
        r.status_code == 200
        and r.json()["paidBroadcast"] is True
        and r.json()["messagesPerSecond"] == 10
    )
    assert client.patch(f"/v1/apps/{app_uuid}", json={"messagesPerSecond": -1}).status_code == 400
    assert client.delete(f"/v1/apps/{app_uuid}").status_code == 204
    assert client.get(f"/v1/apps/{app_uuid}").status_code == 404
    assert client.get("/v1/apps").json() == []


def test_wrong_uuid_and_unknown(client: TestClient) -> None:
    assert client.get("/v1/apps/nope").json()["detail"] == "Wrong app uuid"
    r = client.get(f"/v1/apps/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["detail"] == "Not registered application"


def test_other_organisation_cannot_touch_app(
    client: TestClient, app_uuid: str, other_key: str
) -> None:
    h = bearer(other_key)
    assert client.get("/v1/apps", headers=h).json() == []
    for method, url, kwargs in (
        ("GET", f"/v1/apps/{app_uuid}", {}),
        ("PATCH", f"/v1/apps/{app_uuid}", {"json": {"name": "stolen"}}),
        ("DELETE", f"/v1/apps/{app_uuid}", {}),
        ("GET", f"/v1/apps/{app_uuid}/tokens", {}),
        (
            "POST",
            f"/v1/apps/{app_uuid}/tokens",
            {"json": {"tokens": [{"token": "1", "email": "x@y.z"}]}},
        ),
    ):
        r = client.request(method, url, headers=h, **kwargs)
        assert r.status_code == 404, (method, url)
        assert r.json()["detail"] == "Not registered application"
    assert client.get(f"/v1/apps/{app_uuid}").json()["name"] != "stolen"
    assert client.get(f"/v1/apps/{app_uuid}/tokens").json() == []

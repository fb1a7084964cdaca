"""Click tracking: per-recipient signed links, 302 to the original, CLICKED recorded."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from hushcast.delivery.models import deliveries
from hushcast.tracking.links import make_click_url, read_click_token
from tests.support.live import broadcast_done, create_message
from tests.support.service import LiveService, new_bot_token
from tests.support.waiting import wait_for


def test_link_signing_roundtrip_and_forgery() -> None:
    url = make_click_url("https://hc.example/", "s3cret", 42, "https://shop.example/x?a=1")
    assert url.startswith("https://hc.example/c/")
    token = url.rsplit("/", 1)[1]
    assert read_click_token("s3cret", token) == (None, 42, "https://shop.example/x?a=1")
    assert read_click_token("other", token) is None
    payload, sig = token.split(".")
    assert (
        read_click_token("s3cret", payload + "." + sig[:-1] + ("A" if sig[-1] != "A" else "B"))
        is None
    )
    forged = make_click_url("https://hc.example", "attacker", 42, "https://evil.example")
    assert read_click_token("s3cret", forged.rsplit("/", 1)[1]) is None
    assert read_click_token("s3cret", "nodot") is None


def test_click_recorded_and_redirects(live: LiveService, fake_telegram: Any, db: Any) -> None:
    http = live.http
    app_uuid = http.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}).json()[
        "appUuid"
    ]
    http.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": "501", "email": "a@x.io"}, {"token": "502", "email": "b@x.io"}]},
    )
    mid = create_message(
        http,
        "Sale",
        buttons=[
            {"text": "Open", "link": "https://shop.example/sale?utm=tg"},
            {"text": "App", "link": "tg://resolve?domain=shop"},
        ],
    )
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: broadcast_done(http, bid), timeout=30)
    sent = {str(m["chat_id"]): m for m in fake_telegram.messages()}
    buttons = sent["501"]["reply_markup"]["inline_keyboard"]
    tracked = buttons[0][0]["url"]
    assert tracked.startswith("http://testserver/c/")
    assert buttons[1][0]["url"] == "tg://resolve?domain=shop"
    # Each recipient gets a link of its own.
    assert sent["502"]["reply_markup"]["inline_keyboard"][0][0]["url"] != tracked

    path = tracked.removeprefix("http://testserver")
    with httpx.Client(base_url=live.base_url) as anonymous:
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 302
        assert r.headers["location"] == "https://shop.example/sale?utm=tg"
        assert anonymous.get(path[:-2] + "xx").status_code == 404
        assert anonymous.get("/c/garbage").status_code == 404
    with db.read() as conn:
        rows = {
            r.token: r
            for r in conn.execute(select(deliveries).where(deliveries.c.broadcast_id == bid))
        }
    assert rows["501"].status == "CLICKED" and rows["501"].clicked_at is not None
    assert rows["502"].status == "DELIVERED"
    assert http.get(f"/v1/broadcast/{bid}").json()["clicked"] == 1

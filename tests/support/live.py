"""Driving a LiveService over HTTP: bots, tokens, messages, broadcasts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from hushcast.delivery.models import deliveries
from tests.support.service import LiveService, new_bot_token


def create_message(http: httpx.Client, text: str, **extra: Any) -> int:
    r = http.post("/v1/messages/telegram", json={"name": "msg", "text": text, **extra})
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def broadcast_done(http: httpx.Client, broadcast_id: int) -> dict[str, Any] | None:
    b = http.get(f"/v1/broadcast/{broadcast_id}").json()
    return b if b["status"] == "FINISHED" else None


def deliveries_by_token(db: Any, broadcast_id: int) -> dict[str, Any]:
    with db.read() as conn:
        rows = conn.execute(
            select(deliveries).where(deliveries.c.broadcast_id == broadcast_id)
        ).all()
    return {r.token: r for r in rows}


def connect_bot(live: LiveService, fake: Any, **settings: Any) -> str:
    r = live.http.post("/v1/apps", json={"botToken": new_bot_token(fake)})
    assert r.status_code == 201, r.text
    app_uuid = str(r.json()["appUuid"])
    if settings:
        assert live.http.patch(f"/v1/apps/{app_uuid}", json=settings).status_code == 200
    return app_uuid


def register(live: LiveService, app_uuid: str, tokens: list[str]) -> None:
    items = [{"token": t, "externalCustomerId": f"cust-{t}"} for t in tokens]
    r = live.http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
    assert r.status_code == 200, r.text


def setup_bot(live: LiveService, fake: Any, tokens: list[str], **settings: Any) -> str:
    http = live.http
    app_uuid = str(http.post("/v1/apps", json={"botToken": new_bot_token(fake)}).json()["appUuid"])
    if settings:
        assert http.patch(f"/v1/apps/{app_uuid}", json=settings).status_code == 200
    items = [{"token": t, "externalCustomerId": f"c-{t}"} for t in tokens]
    assert http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items}).status_code == 200
    return app_uuid

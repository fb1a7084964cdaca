from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def create_message(http: httpx.Client, text: str, **extra: Any) -> int:
    r = http.post("/v1/messages/telegram", json={"name": "msg", "text": text, **extra})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def broadcast_done(http: httpx.Client, broadcast_id: int) -> dict[str, Any] | None:
    b = http.get(f"/v1/broadcast/{broadcast_id}").json()
    return b if b["status"] == "FINISHED" else None


def deliveries_by_token(db: Any, broadcast_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    from hushcast.delivery.models import deliveries

    with db.read() as conn:
        rows = conn.execute(
            select(deliveries).where(deliveries.c.broadcast_id == broadcast_id)
        ).all()
    return {r.token: r for r in rows}

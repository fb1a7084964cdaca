"""Webhook helpers: a webhook created through the API, running the dispatcher until a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from hushcast.webhooks.config import WebhookSettings
from hushcast.webhooks.dispatcher import Dispatcher
from hushcast.webhooks.post import new_session


def make_webhook(client: TestClient, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/webhooks", json={"url": url, "events": events, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def dispatch_until(
    db: Database,
    done: Callable[[], bool],
    timeout: float = 15.0,
    cfg: WebhookSettings | None = None,
    owners: int = 1,
) -> None:
    """Runs ``owners`` dispatchers side by side until ``done()`` (AssertionError on timeout)."""
    settings = cfg or WebhookSettings()

    async def main() -> None:
        ds = [Dispatcher(db, settings, owner=f"test-{i}") for i in range(owners)]
        for d in ds:
            d.session = new_session(settings)
        try:
            deadline = time.monotonic() + timeout
            while not done():
                if time.monotonic() > deadline:
                    raise AssertionError("dispatch did not finish in time")
                busy = await asyncio.gather(*(d.tick() for d in ds))
                if not any(busy):
                    await asyncio.sleep(settings.poll_s)
        finally:
            for d in ds:
                assert d.session is not None
                await d.session.close()

    asyncio.run(main())

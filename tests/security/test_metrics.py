"""/metrics is not a public, per-tenant document any more.

Not served unless configured; with HUSHCAST_METRICS_TOKEN it needs that bearer token; with
HUSHCAST_METRICS_BIND it is served on that address only; and no label names a tenant's bot
unless HUSHCAST_METRICS_BOT_LABELS is set. The delivery counters are checked after a real
send by the in-process worker, read through the real endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.delivery import metrics
from tests.support.live import create_message
from tests.support.service import LiveService, bearer, new_bot_token
from tests.support.waiting import wait_for

TOKEN = "metrics-secret-token"


@pytest.fixture
def secured(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"metrics_token": TOKEN}), db=db),
        raise_server_exceptions=False,
    ) as c:
        yield c


def test_metrics_are_not_served_unless_configured(client: TestClient) -> None:
    for headers in ({"Authorization": ""}, bearer(TOKEN)):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 404, r.text
        assert "hushcast_" not in r.text


def test_metrics_need_the_bearer_token(secured: TestClient, api_key: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        bearer(api_key),  # an organisation's API key is not the operator's token
        {"Authorization": ("Bearer " + TOKEN + "\u00e9").encode()},  # non-ASCII: 401, not 500
        {"Authorization": b"Bearer \xc3\xa9\xff"},  # raw non-UTF-8 bytes
    ):
        r = secured.get("/metrics", headers=headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "hushcast_" not in r.text
    r = secured.get("/metrics", headers=bearer(TOKEN))
    assert r.status_code == 200
    assert "hushcast_queue_depth" in r.text


def test_metrics_on_a_separate_address_only(settings: Settings, db: Database) -> None:
    for token in (None, TOKEN):
        update = {"metrics_bind": "127.0.0.1:0", "metrics_token": token}
        with TestClient(create_app(settings.model_copy(update=update), db=db)) as c:
            assert c.get("/metrics", headers=bearer(TOKEN)).status_code == 404
            host, port = c.app.state.metrics_listener.address  # type: ignore[attr-defined]
            url = f"http://{host}:{port}/metrics"
            if token:
                assert httpx.get(url).status_code == 401
                assert httpx.get(url, headers=bearer("nope")).status_code == 401
            r = httpx.get(url, headers=bearer(TOKEN) if token else None)
            assert r.status_code == 200
            assert "hushcast_queue_depth" in r.text
            assert httpx.get(f"http://{host}:{port}/other").status_code == 404
        # stopped with the app
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)


def test_no_label_names_a_tenant_after_real_sends(
    settings: Settings, db: Database, api_key: str, fake_telegram: Any
) -> None:
    secured = settings.model_copy(
        update={"metrics_token": TOKEN, "worker_poll_s": 0.05, "worker_lease_s": 5.0}
    )
    live = LiveService(secured, db, api_key)
    try:
        username = "tenant_secret_name_bot"
        bot = new_bot_token(fake_telegram, username)
        r = live.http.post("/v1/apps", json={"botToken": bot, "name": "Acme private bot"})
        assert r.status_code == 201, r.text
        app_uuid = r.json()["appUuid"]
        r = live.http.post(
            f"/v1/apps/{app_uuid}/tokens",
            json={"tokens": [{"token": "900001", "externalCustomerId": "c1"}]},
        )
        assert r.status_code == 200, r.text
        message = create_message(live.http, "Hello")
        r = live.http.post(
            f"/v1/message/{message}/smartsend",
            json={"appId": app_uuid, "recipients": [{"locator": "900001"}]},
        )
        assert r.status_code == 200, r.text
        wait_for(lambda: fake_telegram.messages(), timeout=30)

        def scraped() -> str | None:
            text = live.http.get("/metrics", headers=bearer(TOKEN)).text
            return text if 'hushcast_messages_total{outcome="DELIVERED"}' in text else None

        text = wait_for(scraped, timeout=30)
        for tenant in (username, app_uuid, "Acme", "acme", bot.split(":")[0]):
            assert tenant not in text, tenant
        assert "bot=" not in text
    finally:
        live.stop()


def test_per_bot_labels_only_when_enabled() -> None:
    try:
        metrics.configure_bot_labels(False)
        metrics.MESSAGES.labels("optin_bot", "DELIVERED").inc()
        metrics.TELEGRAM_429.labels("optin_bot").inc()
        text = generate_latest().decode()
        assert "optin_bot" not in text
        assert "hushcast_telegram_429_total" in text

        metrics.configure_bot_labels(True)
        metrics.MESSAGES.labels("optin_bot", "DELIVERED").inc()
        metrics.MESSAGES.labels(bot="optin_bot", outcome="DELIVERED").inc()  # keyword form
        metrics.TELEGRAM_429.labels("optin_bot").inc()
        text = generate_latest().decode()
        assert 'hushcast_bot_messages_total{bot="optin_bot",outcome="DELIVERED"} 2.0' in text
        assert 'hushcast_bot_telegram_429_total{bot="optin_bot"} 1.0' in text
    finally:
        metrics.configure_bot_labels(False)
    assert "optin_bot" not in generate_latest().decode()

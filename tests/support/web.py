"""The /ui dashboard: signing in, CSRF tokens."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support.service import bearer

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, html[:500]
    return m.group(1)


def login(client: TestClient, key: str) -> Any:
    page = client.get("/ui/login")
    assert page.status_code == 200
    return client.post(
        "/ui/login",
        data={"api_key": key, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def signed_in(client: TestClient, key: str) -> str:
    """Signs in and returns the session's CSRF token."""
    r = login(client, key)
    assert r.status_code == 303, r.text
    home = client.get("/ui")
    assert home.status_code == 200
    return csrf_of(home.text)


def register(client: TestClient, app_uuid: str, tokens: list[str], key: str | None = None) -> None:
    items = [{"token": t, "externalCustomerId": f"cust-{t}"} for t in tokens]
    headers = bearer(key) if key else None
    r = client.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items}, headers=headers)
    assert r.status_code == 200, r.text


def mute_state(client: TestClient, app_uuid: str, token: str) -> dict[str, Any]:
    r = client.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": token})
    assert r.status_code == 200, r.text
    return dict(r.json())

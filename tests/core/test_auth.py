"""API keys: Basic and Bearer, 401 on missing, wrong or revoked keys, per-key limit."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlalchemy import select

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.orgs import repository
from hushcast.orgs.models import api_keys
from hushcast.orgs.service import digest_key


def basic(key: str, user: str = "anyone") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def test_bearer_and_basic(client: TestClient, api_key: str) -> None:
    assert client.get("/v1/apps", headers={"Authorization": f"Bearer {api_key}"}).status_code == 200
    assert client.get("/v1/apps", headers=basic(api_key)).status_code == 200
    assert client.get("/v1/apps", headers=basic(api_key, user="")).status_code == 200


def test_missing_and_wrong_keys(client: TestClient, api_key: str) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer " + api_key + "x"},
        basic("wrong"),
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Token " + api_key},
    ):
        r = client.get("/v1/apps", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"] == "Unauthorized"


def test_revoked_key(client: TestClient, api_key: str, db: Database) -> None:
    with db.transaction() as conn:
        key_id = conn.execute(
            select(api_keys.c.id).where(api_keys.c.key_digest == digest_key(api_key))
        ).scalar_one()
        assert repository.revoke_key(conn, key_id, utcnow())
    assert client.get("/v1/apps").status_code == 401


def test_keys_stored_as_digest_only(api_key: str, db: Database) -> None:
    with db.read() as conn:
        rows = conn.execute(select(api_keys)).all()
    assert len(api_key) >= 40
    for row in rows:
        assert api_key not in [str(v) for v in row]
    assert any(r.key_digest == digest_key(api_key) for r in rows)


def test_per_key_rate_limit(settings: Settings, db: Database, api_key: str) -> None:
    limited = settings.model_copy(update={"rate_limit_per_key": 5})
    with TestClient(create_app(limited, db=db)) as c:
        codes = [
            c.get("/v1/apps", headers={"Authorization": f"Bearer {api_key}"}).status_code
            for _ in range(12)
        ]
    assert codes[:5] == [200] * 5
    assert 429 in codes[5:]


def test_healthz_and_readyz_need_no_auth(client: TestClient) -> None:
    assert client.get("/healthz", headers={"Authorization": ""}).json() == {"status": "ok"}
    assert client.get("/readyz", headers={"Authorization": ""}).json() == {"status": "ready"}


def test_openapi_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/apps/{app_uuid}/token/mute" in spec["paths"]


def test_body_size_limit(settings: Settings, db: Database, api_key: str) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small, db=db)) as c:
        r = c.post(
            "/v1/apps",
            content=b"{" + b" " * 2000 + b"}",
            headers={"Authorization": f"Bearer {api_key}", "content-type": "application/json"},
        )
    assert r.status_code == 413


def test_metrics_exposed(settings: Settings, db: Database, api_key: str, app_uuid: str) -> None:
    with TestClient(
        create_app(settings.model_copy(update={"metrics_token": "t0ken"}), db=db)
    ) as client:
        client.headers["Authorization"] = f"Bearer {api_key}"
        client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1"})
        text = client.get("/metrics", headers={"Authorization": "Bearer t0ken"}).text
    assert "hushcast_queue_depth" in text
    assert 'hushcast_mutes_total{action="mute"}' in text


def test_openapi_references_resolve(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec.get("components", {}).get("schemas", {})
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert refs
    missing = [r for r in refs if r.removeprefix("#/components/schemas/") not in schemas]
    assert missing == []


def test_ping_needs_key(client: TestClient) -> None:
    assert client.get("/v1/ping").json()["ok"] is True
    assert client.get("/api/v1/ping/", headers={"Authorization": ""}).status_code == 401

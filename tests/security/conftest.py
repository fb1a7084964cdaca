"""Fixtures of the security tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.checks import World


@pytest.fixture
def world(client: TestClient, app_uuid: str) -> World:
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": "100001", "externalCustomerId": "cust-1"}]},
    )
    assert r.status_code == 200, r.text
    contact = client.post("/v1/contact", json={"externalCustomerId": "cust-1"}).json()["id"]
    message = client.post("/v1/messages/telegram", json={"name": "M", "text": "Hi"}).json()["id"]
    group = client.post("/v1/groups", json={"name": "G"}).json()["id"]
    r = client.post(
        "/v1/broadcast",
        json={"messageId": message, "appId": app_uuid, "startDate": "2099-01-01T00:00"},
    )
    assert r.status_code == 200, r.text
    return World(app_uuid, message, group, contact, int(r.json()["broadcastId"]))

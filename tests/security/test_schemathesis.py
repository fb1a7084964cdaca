"""Property-based API fuzzing with schemathesis against the app's own /openapi.json.

Every documented operation is exercised with a bounded number of generated requests
(positive and negative data) and each response is checked: no 5xx, a documented status
code, a documented content type, a body that matches the documented schema and documented
headers. SQLite only: the point is the HTTP contract, not the database.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hushcast.core.app import create_app
from hushcast.core.config import Settings
from tests.conftest import shared_database, wipe


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Overrides the SQLite+PostgreSQL parametrisation: the contract is database-agnostic."""
    wipe(shared_database(sqlite_url))
    return sqlite_url


@pytest.fixture
def seeded(client: TestClient, app_uuid: str) -> None:
    """Objects with small ids, so that generated ids also reach the found-path code."""
    r = client.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": "1", "externalCustomerId": "1"}]},
    )
    assert r.status_code == 200, r.text
    message = client.post("/v1/messages/telegram", json={"name": "m", "text": "t"}).json()["id"]
    group = client.post("/v1/groups", json={"name": "g"}).json()["id"]
    r = client.post(f"/v1/groups/{group}/contacts", json={"externalCustomerIds": ["1"]})
    assert r.status_code == 200, r.text
    r = client.post("/v1/broadcast", json={"messageId": message, "appId": app_uuid})
    assert r.status_code == 201, r.text


def _openapi() -> dict[str, Any]:
    # Building the document needs no database: the lifespan (which connects) never runs.
    app = create_app(Settings(database_url="sqlite://", secret_key="x" * 32))
    return TestClient(app).get("/openapi.json").json()


OPENAPI = _openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

# Operations whose only input is free text in the query string: a "number instead of a
# string" is the same bytes on the wire, so schemathesis' negative cases are not negative.
QUERY_TEXT_ONLY = {"GET /v1/message/status"}


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("HUSHCAST_SCHEMATHESIS_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi(case: Any, client: TestClient, seeded: None) -> None:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    response = client.request(**kwargs)
    checks = CHECKS
    if case.operation.label in QUERY_TEXT_ONLY:
        checks = [c for c in CHECKS if c is not negative_data_rejection]
    case.validate_response(response, checks=checks)

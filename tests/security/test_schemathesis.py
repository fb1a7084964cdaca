"""Property-based API fuzzing with schemathesis against the app's own /openapi.json.

Every documented operation is exercised with a bounded number of generated requests
(positive and negative data) and each response is checked: no 5xx, a documented status
code, a documented content type, a body that matches the documented schema and documented
headers. SQLite only: the point is the HTTP contract, not the database.
"""

from __future__ import annotations

from pathlib import Path
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


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Overrides the SQLite+PostgreSQL parametrisation: the contract is database-agnostic."""
    import shutil

    path = tmp_path / "hushcast.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


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


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi(case: Any, client: TestClient) -> None:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    response = client.request(**kwargs)
    case.validate_response(response, checks=CHECKS)

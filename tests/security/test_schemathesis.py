"""Property-based API fuzzing with schemathesis against the app's own /openapi.json.

Every documented operation is exercised with a bounded number of generated requests
(positive and negative data) and each response is checked: no 5xx, a documented status
code, a documented content type, a body that matches the documented schema and documented
headers. The first generated requests of each operation are also sent again with odd bytes
where schemathesis puts none (non-ASCII and non-UTF-8 in the Authorization header, in the
other headers and in every cookie; non-ASCII, invalid percent-encoding and Unicode digits in
every path and query parameter): no 5xx. SQLite only: the point is the HTTP contract, not
the database.
"""

from __future__ import annotations

import os
from collections import Counter
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

from hushcast.app import create_app
from hushcast.core.config import Settings
from tests.support.db import shared_database, wipe


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
    assert r.status_code == 200, r.text


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


# Odd values: non-ASCII, invalid UTF-8 (percent-encoded), Unicode digits, RTL override.
ODD_PARAMS = ["é", "%C3%A9", "²", "١٢٣", "𝟙", "%FF", "%ED%A0%80", "\u202e1", "abc.%C3%A9"]
ODD_BYTES = ["é".encode(), b"\xe9", b"\xff\xfe", "²".encode(), "١٢٣".encode()]
ODD_HEADERS = [
    "accept",
    "accept-language",
    "content-type",
    "user-agent",
    "x-forwarded-for",
    "x-request-id",
    "hx-request",
    "x-csrf-token",
]
ODD_COOKIES = ["hc_session", "hc_login", "hc_tz", "other"]
# Odd variants are sent for the first few generated cases of each operation.
ODD_CASES_PER_OPERATION = 2
_odd_done: Counter[str] = Counter()


def odd_variants(case: Any, base_url: str) -> list[dict[str, Any]]:
    """The case's request again with odd bytes in its headers, cookies and parameters."""
    n = _odd_done[case.operation.label]
    _odd_done[case.operation.label] += 1
    if n >= ODD_CASES_PER_OPERATION:
        return []
    odd = ODD_BYTES[n % len(ODD_BYTES)]
    variants: list[dict[str, Any]] = []
    # The documented method (a negative case may have swapped it for an unsupported one).
    plain = {**case.as_transport_kwargs(base_url=base_url), "method": case.operation.method.upper()}
    # An odd Authorization header.
    variants.append({**plain, "headers": {**plain.get("headers", {}), "authorization": odd}})
    # Every other header and every cookie odd (with a valid key).
    headers = {**plain.get("headers", {}), **{h: odd for h in ODD_HEADERS}}
    headers["cookie"] = b"; ".join(c.encode() + b"=" + odd for c in ODD_COOKIES)
    variants.append({**plain, "headers": headers, "cookies": None})
    # Every path parameter odd: replaced, and the generated value with an odd end
    # (a signed token's ``<payload>.<signature>`` with a non-ASCII signature).
    for value in (ODD_PARAMS[n % len(ODD_PARAMS)], "²", "{}.%C3%A9", "{}%FF"):
        if not case.path_parameters:
            break
        path = case.operation.path
        for name, generated in case.path_parameters.items():
            path = path.replace("{" + name + "}", value.format(generated))
        variants.append({**plain, "url": base_url.rstrip("/") + path})
    if case.query:
        digits = ODD_PARAMS[2 + n % 3]
        variants.append({**plain, "params": {k: digits for k in case.query}})
    return variants


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
    for kwargs in odd_variants(case, str(client.base_url)):
        odd = client.request(**kwargs)
        assert odd.status_code < 500, (kwargs, odd.status_code, odd.text[:300])

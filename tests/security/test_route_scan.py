"""Every route of the application (walked from ``app.routes``, not from a list) is sent odd
input: non-ASCII and non-UTF-8 bytes in every header the stack reads and in every cookie,
non-ASCII, percent-encoded invalid UTF-8, NUL and Unicode digits (``²``, ``١٢٣``, ``𝟙``) in
every path parameter and query parameter, and odd form fields on the dashboard's posts;
signed in (API key and dashboard session) and not. Nothing may answer 5xx.

SQLite only: the point is request parsing, not the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from hushcast.web import session as sess
from tests.support.checks import World  # noqa: F401 - the fixture
from tests.support.db import shared_database, wipe
from tests.support.web import signed_in

# Non-ASCII (UTF-8 and Latin-1 bytes), invalid UTF-8, Unicode digits, RTL override.
HEADER_VALUES: list[bytes] = [
    "é".encode(),
    b"\xe9",
    b"\xff\xfe",
    "²".encode(),
    "١٢٣".encode(),
    "\u202e1".encode(),
]
# Headers the service or its framework reads: each is sent odd on its own.
READ_HEADERS = [
    "authorization",
    "cookie",
    "content-type",
    "content-length",
    "host",
    "hx-request",
    "x-csrf-token",
]
# Headers nobody here reads (proxies and browsers send them): sent odd all at once.
OTHER_HEADERS = [
    "accept",
    "accept-encoding",
    "accept-language",
    "origin",
    "referer",
    "user-agent",
    "hx-current-url",
    "hx-target",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-request-id",
    "if-none-match",
    "range",
    "x-anything",
]
COOKIE_NAMES = [sess.SESSION_COOKIE, sess.LOGIN_COOKIE, sess.TZ_COOKIE, "other"]
# Raw in the URL: httpx percent-encodes the non-ASCII ones, the %XX ones go as they are.
PATH_VALUES = [
    "é",
    "%C3%A9",
    "²",
    "١٢٣",
    "𝟙",
    "1²",
    "%F0%9F%98%80",
    "%ED%A0%80",  # an encoded lone surrogate
    "%FF",  # not UTF-8
    "%00",
    "abc.%C3%A9",
    "\u202e1",
    "9" * 40,
]
QUERY_NAMES = [
    "page",
    "up",
    "ep",
    "maxrows",
    "startindex",
    "q",
    "search",
    "ids",
    "bucket",
    "format",
    "next",
    "token",
    "dateFrom",
    "dateTo",
    "tz",
]
FORM_FIELDS = ["csrf_token", "api_key", "next", "token", "duration", "custom", "back", "tz"]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only (overrides the SQLite+PostgreSQL parametrisation)."""
    wipe(shared_database(sqlite_url))
    return sqlite_url


def routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route and mount of the app, HEAD aside."""

    def walk(items: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in items:
            included = getattr(route, "original_router", None)  # FastAPI's lazy include
            if included is not None:
                yield from walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                yield "GET", prefix + route.path + "/{file}"
            elif isinstance(route, APIRoute) or getattr(route, "methods", None):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, prefix + route.path

    found = sorted(set(walk(app.routes, "")), key=lambda r: (r[0] == "DELETE", r[1], r[0]))
    assert len(found) > 60, found  # the walk really found the app's routes
    return iter(found)


PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def fill(path: str, value: str | None, w: World) -> str:
    """The path with every parameter set to ``value`` (None: a real object's id)."""
    real = {
        "app_uuid": w.app,
        "message_id": w.message,
        "group_id": w.group,
        "contact_id": w.contact,
        "broadcast_id": w.broadcast,
        "token": "abc.def",
        "file": "app.css",
    }
    # Parameters without a real object here (import sessions, webhooks, languages) get an
    # id that names nothing: a 404 is as good an answer as any, a 5xx is not.
    return PARAM.sub(lambda m: str(real.get(m.group(1), "1")) if value is None else value, path)


class Scan:
    def __init__(self, client: TestClient, api_key: str, session_cookie: str, csrf: str):
        self.client = client
        self.auth = f"Bearer {api_key}".encode()
        self.session = session_cookie
        self.csrf = csrf
        self.failures: list[str] = []
        self.sent = 0

    def send(
        self, method: str, url: str, headers: dict[str, bytes], body: bytes | None = None
    ) -> None:
        self.client.cookies.clear()
        try:
            r = self.client.request(method, url, headers=headers, content=body)
            status = r.status_code
        except Exception as exc:  # noqa: BLE001 - the app raised through the client
            status, r = 599, None
            detail = repr(exc)
        else:
            detail = r.text[:200]
        self.sent += 1
        if status >= 500:
            shown = {k: v for k, v in headers.items() if k not in ("authorization",)}
            self.failures.append(f"{method} {url} {shown} {body!r:.80}: {status} {detail}")

    def base_headers(self, signed: bool) -> dict[str, bytes]:
        if not signed:
            return {}
        return {
            "authorization": self.auth,
            "cookie": f"{sess.SESSION_COOKIE}={self.session}".encode(),
            "x-csrf-token": self.csrf.encode(),
        }


@pytest.fixture
def scan(client: TestClient, api_key: str, world: World) -> Scan:  # noqa: F811
    csrf = signed_in(client, api_key)
    cookie = str(client.cookies[sess.SESSION_COOKIE])
    client.headers.clear()
    return Scan(client, api_key, cookie, csrf)


def test_odd_path_and_query_values_never_answer_5xx(scan: Scan, world: World) -> None:  # noqa: F811
    query = "&".join(f"{name}={{}}" for name in QUERY_NAMES)
    for method, template in routes(scan.client.app):
        signed = scan.base_headers(True)
        if "{" in template:
            for value in PATH_VALUES:
                scan.send(method, fill(template, value, world), signed)
            scan.send(method, fill(template, PATH_VALUES[0], world), {})
            # the same under /api/v1 and with a trailing slash
            if template.startswith("/v1/"):
                scan.send(method, "/api" + fill(template, PATH_VALUES[1], world) + "/", signed)
        for value, headers in ((PATH_VALUES[0], signed), (PATH_VALUES[2], signed), ("é", {})):
            url = fill(template, None, world) + "?" + query.format(*[value] * len(QUERY_NAMES))
            scan.send(method, url, headers)
    assert scan.sent > 500
    assert not scan.failures, "\n".join(scan.failures[:40])


def test_odd_headers_and_cookies_never_answer_5xx(scan: Scan, world: World) -> None:  # noqa: F811
    valid_session = f"{sess.SESSION_COOKIE}={scan.session}".encode()
    n = len(HEADER_VALUES)
    for r, (method, template) in enumerate(routes(scan.client.app)):
        url = fill(template, None, world)
        base = scan.base_headers(True)
        # Signed in: each header read here odd on its own (the odd values taken in turn
        # across routes), then all the others at once.
        for h, name in enumerate(READ_HEADERS):
            scan.send(method, url, {**base, name: HEADER_VALUES[(r + h) % n]})
        others = {name: HEADER_VALUES[(r + h) % n] for h, name in enumerate(OTHER_HEADERS)}
        scan.send(method, url, {**base, **others})
        # An odd session cookie, and each cookie odd beside a valid session.
        odd_value = scan.session.encode()[:10] + HEADER_VALUES[r % n]
        scan.send(method, url, {**base, "cookie": b"hc_session=" + odd_value})
        for cookie in COOKIE_NAMES:
            odd = cookie.encode() + b"=" + odd_value
            scan.send(method, url, {**base, "cookie": valid_session + b"; " + odd})
        # Signed out: every header odd at once.
        every = {name: HEADER_VALUES[(r + h) % n] for h, name in enumerate(READ_HEADERS)}
        scan.send(method, url, {**every, **others})
    assert not scan.failures, "\n".join(scan.failures[:40])


def test_odd_form_fields_never_answer_5xx(scan: Scan, world: World) -> None:  # noqa: F811
    form = {"content-type": b"application/x-www-form-urlencoded"}
    for method, template in routes(scan.client.app):
        if method != "POST" or not template.startswith("/ui"):
            continue
        url = fill(template, None, world)
        signed = {**scan.base_headers(True), **form}
        signed.pop("x-csrf-token")  # the form's csrf_token field is read instead
        for value in HEADER_VALUES[:3]:
            for field in FORM_FIELDS:
                scan.send(method, url, signed, field.encode() + b"=" + value)
            encoded = "".join(f"%{b:02X}" for b in value).encode()
            every = b"&".join(f.encode() + b"=" + encoded for f in FORM_FIELDS)
            scan.send(method, url, signed, every)
            scan.send(method, url, form, every)
    assert not scan.failures, "\n".join(scan.failures[:40])

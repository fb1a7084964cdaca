"""Bad input gets a clear 4xx problem document and changes nothing.

Every JSON-body endpoint is sent malformed JSON, non-object JSON, wrong types, arrays over
each documented limit, 100,000-deep nesting, and text with NUL characters or lone UTF-16
surrogates (escaped in JSON, as a client bug would send them). Each must answer 400 (or 404
/ 413 where stated) as application/problem+json with a useful ``detail``, and the database
must hold exactly the rows it held before. Valid but unusual Unicode (emoji, RTL, combining
marks) is accepted and read back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.checks import World, assert_problem, row_counts, table_snapshot
from tests.support.web import signed_in

BadBody = bytes | dict[str, Any]


# Every endpoint that reads a JSON body: (method, path template).
JSON_ENDPOINTS = [
    ("POST", "/v1/apps"),
    ("PATCH", "/v1/apps/{app}"),
    ("POST", "/v1/apps/{app}/tokens"),
    ("POST", "/v1/apps/{app}/token/mute"),
    ("POST", "/v1/apps/{app}/token/unmute"),
    ("POST", "/v1/contact"),
    ("POST", "/v1/contacts"),
    ("POST", "/v1/messages/telegram"),
    ("PUT", "/v1/messages/telegram/{message}"),
    ("POST", "/v1/groups"),
    ("POST", "/v1/groups/{group}/contacts"),
    ("DELETE", "/v1/groups/{group}/contacts"),
    ("POST", "/v1/broadcast"),
    ("POST", "/v1/message/{message}/smartsend"),
    ("POST", "/v1/message/{message}/test"),
]

DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000

MALFORMED: list[bytes] = [
    b"",
    b"   ",
    b"{",
    b'{"token": }',
    b"not json",
    b"{'single': 'quotes'}",
    b'{"a": 1,}',
    b"\xff\xfe\x00{",
    b'{"name": "\xc3\x28"}',  # invalid UTF-8 inside a string
    b"[]",
    b"null",
    b'"a string"',
    b"12345",
    b"true",
    DEEP_LIST,
    DEEP_OBJECT,
    b'{"tokens": ' + DEEP_LIST + b"}",
]


def _fill(path: str, w: World) -> str:
    return path.format(
        app=w.app, message=w.message, group=w.group, contact=w.contact, broadcast=w.broadcast
    )


def _send(client: TestClient, method: str, path: str, body: BadBody) -> Any:
    if isinstance(body, bytes):
        return client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
    return client.request(method, path, json=body)


def _raw_json(value: Any) -> bytes:
    """JSON as a client would send it: lone surrogates stay escaped (``\\ud800``)."""
    return json.dumps(value, ensure_ascii=True).encode()


def _check_all(
    client: TestClient,
    db: Database,
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]],
    detail_check: Callable[[str, str], bool] | None = None,
) -> None:
    failures: list[str] = []
    start = before = row_counts(db)
    for method, path, body, status in cases:
        shown = body if isinstance(body, dict) else body[:80]
        r = _send(client, method, path, body)
        try:
            detail = assert_problem(r, status)
            if detail_check is not None:
                assert detail_check(method + " " + path, detail), detail
        except AssertionError as exc:
            failures.append(f"{method} {path} {shown!r}: {exc}")
        after = row_counts(db)
        if after != before:
            changed = {k: (before[k], v) for k, v in after.items() if before[k] != v}
            failures.append(f"{method} {path} {shown!r} changed rows {changed}")
            before = after
    assert not failures, "\n".join(failures)
    assert row_counts(db) == start


def test_malformed_json_is_a_clear_400_everywhere(
    client: TestClient, db: Database, world: World
) -> None:
    cases = [
        (method, _fill(path, world), body, 400)
        for method, path in JSON_ENDPOINTS
        for body in MALFORMED
    ]
    snapshot = table_snapshot(db)
    _check_all(client, db, cases)
    assert table_snapshot(db) == snapshot


def test_malformed_json_detail_names_the_problem(client: TestClient, world: World) -> None:
    for method, path in JSON_ENDPOINTS:
        url = _fill(path, world)
        detail = assert_problem(_send(client, method, url, b"{"))
        assert "JSON" in detail, (method, path, detail)
        detail = assert_problem(_send(client, method, url, DEEP_LIST))
        assert "JSON" in detail or "object" in detail, (method, path, detail)


def test_wrong_types_are_400(client: TestClient, db: Database, world: World) -> None:
    m, app = world.message, world.app
    by_endpoint: dict[tuple[str, str], list[BadBody]] = {
        ("POST", "/v1/apps"): [
            {"botToken": 123456},
            {"botToken": ["1:A"]},
            {"botToken": None},
            {"botToken": {"a": 1}},
            {"botToken": "1:AAA", "name": 5},
            {},
        ],
        ("PATCH", "/v1/apps/{app}"): [
            {"messagesPerSecond": "fast"},
            {"messagesPerSecond": -1},
            {"paidBroadcast": "maybe"},
            {"name": []},
            {"unknownField": 1},
        ],
        ("POST", "/v1/apps/{app}/tokens"): [
            {"tokens": "100001"},
            {"tokens": {}},
            {"tokens": []},
            {"tokens": [[1]]},
            {"tokens": [None]},
            {"tokens": [{"token": 1.5, "externalCustomerId": "x"}]},
            {"tokens": [{"token": True, "externalCustomerId": "x"}]},
            {"tokens": [{"token": {"a": 1}, "externalCustomerId": "x"}]},
            {"tokens": [{"token": "1", "contactId": "abc"}]},
            {"tokens": [{"token": "1", "email": 5}]},
            {"tokens": [{"token": "not a chat id"}]},
        ],
        ("POST", "/v1/apps/{app}/token/mute"): [
            {},
            {"token": 1.5},
            {"token": True},
            {"token": None},
            {"token": ["1"]},
            {"tokens": "1"},
            {"tokens": [True]},
            {"token": "1", "duration": "abc"},
            {"token": "1", "duration": 1.5},
            {"token": "1", "duration": True},
            {"token": "1", "duration": [60]},
            {"token": "1", "duration": 4},
            {"token": "1", "duration": 31_536_001},
            {"token": "1", "duration": 10**30},
            b'{"token": "1", "duration": NaN}',
            b'{"token": "1", "duration": Infinity}',
            {"token": "1" * 65},
        ],
        ("POST", "/v1/apps/{app}/token/unmute"): [
            {},
            {"token": []},
            {"tokens": [None]},
        ],
        ("POST", "/v1/contact"): [
            {},
            {"externalCustomerId": []},
            {"email": 5},
            {"email": "not-an-email"},
            {"externalCustomerId": "x", "fields": "tier"},
            {"externalCustomerId": "x", "fields": [{"name": 1, "value": 1}]},
            {"externalCustomerId": "x", "fields": [{"name": "a", "value": {"b": 1}}]},
            {"externalCustomerId": "x", "timeZone": "Mars/Olympus"},
            {"contactId": "abc"},
            {"contactId": 10**30},
            {"externalCustomerId": "x", "firstName": ["Ann"]},
        ],
        ("POST", "/v1/contacts"): [
            {"contacts": {}},
            {"contacts": [1]},
            {"contacts": [{"externalCustomerId": "ok"}, {"email": 5}]},
        ],
        ("POST", "/v1/messages/telegram"): [
            {"name": 1, "text": "x"},
            {"name": "n", "text": ["x"]},
            {"name": "n"},
            {"name": "n", "text": ""},
            {"name": "n", "text": "t", "buttons": "x"},
            {"name": "n", "text": "t", "buttons": [{"text": "b", "link": "javascript:alert(1)"}]},
            {"name": "n", "text": "t", "imageSource": "file:///etc/passwd"},
            {"name": "n", "text": "t", "tags": "a"},
        ],
        ("PUT", "/v1/messages/telegram/{message}"): [
            {"name": 1, "text": "x"},
            {"name": "n", "text": None},
        ],
        ("POST", "/v1/groups"): [{"name": 5}, {"name": ""}, {"name": "   "}, {}],
        ("POST", "/v1/groups/{group}/contacts"): [
            {"contactIds": "1"},
            {"contactIds": [True]},
            {"contactIds": [0]},
            {"contactIds": ["x"]},
            {"externalCustomerIds": [1.5]},
            {"externalCustomerIds": [""]},
        ],
        ("DELETE", "/v1/groups/{group}/contacts"): [{"contactIds": [-1]}],
        ("POST", "/v1/broadcast"): [
            {},
            {"messageId": "abc", "appId": app},
            {"messageId": -1, "appId": app},
            {"messageId": m, "appId": 5},
            {"messageId": m, "appId": "not-a-uuid"},
            {"messageId": m, "appId": app, "groups": "1"},
            {"messageId": m, "appId": app, "groups": [True]},
            {"messageId": m, "appId": app, "excludedGroups": [{"id": 1}]},
            {"messageId": m, "appId": app, "startDate": "tomorrow"},
            {"messageId": m, "appId": app, "startDate": 1700000000},
            {"messageId": m, "appId": app, "title": 5},
        ],
        ("POST", "/v1/message/{message}/smartsend"): [
            {"appId": app},
            {"appId": app, "recipients": "x"},
            {"appId": app, "recipients": []},
            {"appId": app, "recipients": [5]},
            {"appId": app, "recipients": [{"locator": True}]},
            {"appId": app, "recipients": [{"contactId": "x"}]},
            {"appId": app, "recipients": [{"locator": "1"}], "email": True},
        ],
        ("POST", "/v1/message/{message}/test"): [
            {},
            {"tokens": "1"},
            {"tokens": [True]},
            {"contactIds": ["x"]},
        ],
    }
    assert {k for k in by_endpoint} == set(JSON_ENDPOINTS), "every JSON endpoint is covered"
    cases = [
        (method, _fill(path, world), body, 400)
        for (method, path), bodies in by_endpoint.items()
        for body in bodies
    ]
    _check_all(client, db, cases)


def test_bad_query_and_path_parameters_are_4xx(
    client: TestClient, db: Database, world: World
) -> None:
    a, b, g = world.app, world.broadcast, world.group
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]] = [
        ("GET", f"/v1/apps/{a}/tokens?maxrows=abc", b"", 400),
        ("GET", f"/v1/apps/{a}/tokens?maxrows=0", b"", 400),
        ("GET", f"/v1/apps/{a}/tokens?maxrows=501", b"", 400),
        ("GET", f"/v1/apps/{a}/tokens?startindex=-1", b"", 400),
        ("GET", f"/v1/apps/{a}/tokens?startindex={10**30}", b"", (400, 404)),
        ("GET", f"/v1/groups/{g}/contacts?maxrows=1e3", b"", 400),
        ("GET", f"/v1/apps/{a}/token/mute", b"", 400),
        ("GET", f"/v1/apps/{a}/token/mute?token=%00", b"", 400),
        ("GET", "/v1/message/status", b"", 400),
        ("GET", "/v1/message/status?ids=" + ",".join(str(i) for i in range(1001)), b"", 400),
        ("GET", "/v1/messages/single-report?dateFrom=yesterday", b"", 400),
        ("GET", "/v1/messages/single-report?dateFrom=2026-13-45", b"", 400),
        ("GET", f"/v1/broadcast/{b}/report/contacts?bucket=nope", b"", 400),
        ("GET", f"/v1/broadcast/{b}/report/contacts?format=xml", b"", 400),
        ("GET", "/v1/apps/not-a-uuid", b"", 400),
        ("GET", "/v1/apps/%F0%9F%98%80", b"", 400),
        ("GET", "/v1/apps/%00", b"", 400),
        ("GET", "/v1/contact/abc", b"", 400),
        ("GET", "/v1/contact/1.5", b"", 400),
        ("GET", "/v1/contact/-1", b"", 404),
        ("GET", f"/v1/contact/{10**30}", b"", 404),
        ("GET", f"/v1/broadcast/{10**30}", b"", 404),
        ("DELETE", f"/v1/broadcast/{10**30}", b"", 404),
        ("POST", f"/v1/broadcast/{10**30}/pause", b"", 404),
        ("POST", f"/v1/broadcast/{10**30}/resume", b"", 404),
        ("GET", f"/v1/broadcast/{10**30}/report", b"", 404),
        ("GET", f"/v1/messages/telegram/{10**30}", b"", 404),
        ("GET", f"/v1/messages/{10**30}/report", b"", 404),
        ("GET", f"/v1/groups/{10**30}", b"", 404),
        ("POST", f"/v1/message/{10**30}/smartsend", {"recipients": [{"locator": "1"}]}, 404),
        ("POST", f"/v1/message/{10**30}/test", {"tokens": ["1"]}, 404),
        ("POST", "/v1/broadcast", {"messageId": 10**30, "appId": a}, (400, 404)),
        ("POST", "/v1/broadcast", {"messageId": world.message, "groups": [10**30]}, (400, 404)),
        ("POST", f"/v1/message/{world.message}/test", {"contactIds": [10**30]}, (400, 404)),
        (
            "POST",
            f"/v1/message/{world.message}/smartsend",
            {"appId": a, "recipients": [{"contactId": 10**30}]},
            (400, 404),
        ),
    ]
    _check_all(client, db, cases)


def test_arrays_over_each_limit_are_400(client: TestClient, db: Database, world: World) -> None:
    a, m, g = world.app, world.message, world.group
    over_tokens = [{"token": str(10**6 + i), "externalCustomerId": f"c{i}"} for i in range(10_001)]
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]] = [
        ("POST", f"/v1/apps/{a}/tokens", {"tokens": over_tokens}, 400),
        ("POST", f"/v1/apps/{a}/token/mute", {"tokens": [str(i) for i in range(1001)]}, 400),
        ("POST", f"/v1/apps/{a}/token/unmute", {"tokens": [str(i) for i in range(1001)]}, 400),
        (
            "POST",
            "/v1/contacts",
            {"contacts": [{"externalCustomerId": f"x{i}"} for i in range(10_001)]},
            400,
        ),
        (
            "POST",
            "/v1/contact",
            {
                "externalCustomerId": "many-fields",
                "fields": [{"name": f"f{i}", "value": i} for i in range(101)],
            },
            400,
        ),
        ("POST", f"/v1/groups/{g}/contacts", {"contactIds": list(range(1, 10_002))}, 400),
        (
            "POST",
            f"/v1/groups/{g}/contacts",
            {"externalCustomerIds": [f"x{i}" for i in range(10_001)]},
            400,
        ),
        ("DELETE", f"/v1/groups/{g}/contacts", {"contactIds": list(range(1, 10_002))}, 400),
        (
            "POST",
            "/v1/messages/telegram",
            {"name": "n", "text": "t", "buttons": [{"text": "b", "link": "https://x.io"}] * 101},
            400,
        ),
        ("POST", "/v1/messages/telegram", {"name": "n", "text": "t", "tags": ["t"] * 51}, 400),
        ("POST", "/v1/messages/telegram", {"name": "n", "text": "t" * 4097}, 400),
        ("POST", "/v1/messages/telegram", {"name": "n" * 301, "text": "t"}, 400),
        (
            "POST",
            f"/v1/message/{m}/smartsend",
            {"appId": a, "recipients": [{"locator": str(i)} for i in range(1001)]},
            400,
        ),
        ("POST", f"/v1/message/{m}/test", {"tokens": [str(i) for i in range(1001)]}, 400),
        ("POST", "/v1/groups", {"name": "g" * 301}, 400),
        ("POST", "/v1/apps", {"botToken": "1:" + "A" * 10_000}, 400),
    ]
    _check_all(client, db, cases)


def test_body_over_the_size_limit_is_413(client: TestClient, db: Database, world: World) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    big = b'{"tokens": ["' + b"1" * limit + b'"]}'
    before = row_counts(db)
    url = f"/v1/apps/{world.app}/token/mute"
    detail = assert_problem(
        client.post(url, content=big, headers={"Content-Type": "application/json"}), 413
    )
    assert str(limit) in detail

    def chunks() -> Any:  # no Content-Length: the limit is enforced on the stream
        for i in range(0, len(big), 1 << 20):
            yield big[i : i + (1 << 20)]

    r = client.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(r, 413)
    assert row_counts(db) == before


BAD_TEXTS = {
    "NUL": "a\x00b",
    "lone high surrogate": "a\ud800b",
    "lone low surrogate": "\udfffb",
}


def test_nul_and_lone_surrogates_are_rejected_everywhere(
    client: TestClient, db: Database, world: World
) -> None:
    a, m, g = world.app, world.message, world.group
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]] = []
    for bad in BAD_TEXTS.values():
        bodies: list[tuple[str, str, Any]] = [
            ("POST", "/v1/apps", {"botToken": "1:" + bad}),
            ("PATCH", f"/v1/apps/{a}", {"name": bad}),
            ("POST", f"/v1/apps/{a}/tokens", {"tokens": [{"token": bad, "email": "a@b.c"}]}),
            (
                "POST",
                f"/v1/apps/{a}/tokens",
                {"tokens": [{"token": "5", "externalCustomerId": bad}]},
            ),
            ("POST", f"/v1/apps/{a}/token/mute", {"token": bad}),
            ("POST", f"/v1/apps/{a}/token/mute", {"tokens": ["1", bad]}),
            ("POST", f"/v1/apps/{a}/token/unmute", {"token": bad}),
            ("POST", "/v1/contact", {"externalCustomerId": bad}),
            ("POST", "/v1/contact", {"externalCustomerId": "u", "firstName": bad}),
            ("POST", "/v1/contact", {"externalCustomerId": "u", "fields": [{"name": bad}]}),
            (
                "POST",
                "/v1/contact",
                {"externalCustomerId": "u", "fields": [{"name": "n", "value": bad}]},
            ),
            ("POST", "/v1/contacts", {"contacts": [{"email": "a@b.c", "lastName": bad}]}),
            ("POST", "/v1/messages/telegram", {"name": bad, "text": "t"}),
            ("POST", "/v1/messages/telegram", {"name": "n", "text": bad}),
            ("POST", "/v1/messages/telegram", {"name": "n", "text": "t", "tags": [bad]}),
            (
                "POST",
                "/v1/messages/telegram",
                {"name": "n", "text": "t", "buttons": [{"text": bad, "link": "https://x.io"}]},
            ),
            ("PUT", f"/v1/messages/telegram/{m}", {"name": "n", "text": bad}),
            ("POST", "/v1/groups", {"name": bad}),
            ("POST", f"/v1/groups/{g}/contacts", {"externalCustomerIds": [bad]}),
            ("POST", "/v1/broadcast", {"messageId": m, "appId": a, "title": bad}),
            ("POST", "/v1/broadcast", {"messageId": m, "appId": bad}),
            (
                "POST",
                f"/v1/message/{m}/smartsend",
                {"appId": a, "recipients": [{"locator": bad}]},
            ),
            (
                "POST",
                f"/v1/message/{m}/smartsend",
                {"appId": a, "recipients": [{"locator": "1", "externalRequestId": bad}]},
            ),
            (
                "POST",
                f"/v1/message/{m}/smartsend",
                {"appId": a, "recipients": [{"locator": "1", "jsonParam": '{"k": "' + bad + '"}'}]},
            ),
            ("POST", f"/v1/message/{m}/test", {"tokens": [bad]}),
        ]
        cases += [(method, path, _raw_json(body), 400) for method, path, body in bodies]
    snapshot = table_snapshot(db)
    _check_all(client, db, cases)
    assert table_snapshot(db) == snapshot


def test_query_strings_with_nul_or_bad_percent_encoding(client: TestClient, world: World) -> None:
    for query in ("search=%00", "search=%ED%A0%80", "search=%FF"):
        for path in (
            f"/v1/apps/{world.app}/tokens",
            "/v1/messages/telegram",
        ):
            r = client.get(f"{path}?{query}")
            assert r.status_code in (200, 400), (path, query, r.status_code, r.text)
            if r.status_code == 400:
                assert_problem(r)
    r = client.get("/v1/message/status?ids=%00")
    assert r.status_code in (200, 400), r.text


GOOD_TEXTS = [
    "🚀 Sale 👩‍👩‍👧‍👦 🇺🇦",  # emoji, ZWJ sequence, flag
    "שלום עולם",  # Hebrew (RTL)
    "مرحبا بالعالم",  # Arabic (RTL)
    "\u202eevil\u202c",  # RTL override characters
    "e\u0301\u0301\u0301",  # stacked combining marks
    "𝕳𝖚𝖘𝖍",  # astral-plane letters
]


def test_valid_unicode_is_accepted_and_read_back(client: TestClient, world: World) -> None:
    for text in GOOD_TEXTS:
        r = client.post("/v1/messages/telegram", json={"name": text, "text": text, "tags": [text]})
        assert r.status_code == 200, (text, r.text)
        got = client.get(f"/v1/messages/telegram/{r.json()['id']}").json()
        assert (got["name"], got["text"]) == (text.strip(), text)

        r = client.post("/v1/groups", json={"name": text})
        assert r.status_code == 201, (text, r.text)
        assert client.get(f"/v1/groups/{r.json()['id']}").json()["name"] == text.strip()

        r = client.post("/v1/contact", json={"externalCustomerId": text, "firstName": text})
        assert r.status_code == 200, (text, r.text)
        got = client.get(f"/v1/contact/{r.json()['id']}").json()
        assert got["firstName"] == text.strip()

        r = client.post(f"/v1/apps/{world.app}/token/mute", json={"token": "42", "duration": 60})
        assert r.status_code == 200, r.text


# --- non-ASCII where a signature or token is compared, and Unicode digits in ids -----------
# hmac.compare_digest raises TypeError on non-ASCII str: each of these answered 500.


def test_non_ascii_click_signature_is_404(client: TestClient) -> None:
    for path in ("/c/abc.%C3%A9", "/c/%C3%A9.%C3%A9", "/c/abc.%FF", "/c/abc.%ED%A0%80", "/c/é"):
        assert_problem(client.get(path, follow_redirects=False), 404)


def test_non_ascii_session_cookie_goes_to_sign_in(client: TestClient, api_key: str) -> None:
    csrf = signed_in(client, api_key)
    value = str(client.cookies["hc_session"])
    client.cookies.clear()
    for cookie in (
        "hc_session=v2.abc.é".encode(),
        b"hc_session=" + value.encode() + "é".encode(),
        b"hc_session=" + value[:-1].encode() + b"\xe9",
        "hc_session=é".encode(),
    ):
        r = client.get("/ui", headers={"Cookie": cookie}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login", (cookie, r.text)
        r = client.post(
            "/ui/logout",
            headers={"Cookie": cookie, "X-CSRF-Token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/ui/login", (cookie, r.text)


def test_non_ascii_csrf_tokens_are_403(client: TestClient, api_key: str) -> None:
    page = client.get("/ui/login")
    assert page.status_code == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"csrf_token=%C3%A9&api_key=x", b"csrf_token=\xe9&api_key=x"):
        r = client.post("/ui/login", content=body, headers=form, follow_redirects=False)
        assert r.status_code == 403, r.text
        assert "CSRF" in r.text
    signed_in(client, api_key)
    for token in ("é".encode(), b"\xe9\xff"):
        r = client.post("/ui/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
        assert r.status_code == 403, r.text
    r = client.post("/ui/logout", content=b"csrf_token=%C3%A9", headers=form)
    assert r.status_code == 403, r.text
    assert client.get("/ui", follow_redirects=False).status_code == 200  # still signed in


UNICODE_DIGITS = ["²", "١٢٣", "𝟙", "1²", "٣"]


def test_unicode_digits_in_path_and_query_ids_are_4xx(
    client: TestClient, api_key: str, db: Database, world: World
) -> None:
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]] = []
    for d in UNICODE_DIGITS:
        cases += [
            ("GET", f"/v1/contact/{d}", b"", 400),
            ("DELETE", f"/v1/contact/{d}", b"", 400),
            ("GET", f"/v1/broadcast/{d}", b"", 400),
            ("POST", f"/v1/broadcast/{d}/pause", b"", 400),
            ("GET", f"/v1/broadcast/{d}/report", b"", 400),
            ("GET", f"/v1/groups/{d}", b"", 400),
            ("GET", f"/v1/groups/{d}/contacts", b"", 400),
            ("GET", f"/v1/messages/telegram/{d}", b"", 400),
            ("GET", f"/v1/messages/{d}/report", b"", 400),
            ("POST", f"/v1/message/{d}/test", {"tokens": ["1"]}, 400),
            ("GET", f"/v1/apps/{world.app}/tokens?maxrows={d}", b"", 400),
            ("GET", f"/v1/apps/{world.app}/tokens?startindex={d}", b"", 400),
            ("GET", f"/v1/groups/{world.group}/contacts?maxrows={d}", b"", 400),
        ]
    _check_all(client, db, cases)
    signed_in(client, api_key)
    for d in UNICODE_DIGITS:
        for path in (
            f"/ui/broadcasts/{d}",
            f"/ui/broadcasts/{d}/live",
            f"/ui/broadcasts/{d}/export.csv",
            f"/ui/broadcasts?page={d}",
            f"/ui/messages?page={d}",
            f"/ui/apps/{world.app}?page={d}",
            f"/ui/broadcasts/{world.broadcast}?up={d}",
        ):
            r = client.get(path, follow_redirects=False)
            assert r.status_code == 404, (path, r.status_code, r.text[:200])


def test_unicode_digits_in_body_ids_are_400(client: TestClient, db: Database, world: World) -> None:
    a, m, g = world.app, world.message, world.group
    cases: list[tuple[str, str, BadBody, int | tuple[int, ...]]] = []
    for d in UNICODE_DIGITS:
        cases += [
            ("POST", "/v1/broadcast", {"messageId": d, "appId": a}, 400),
            ("POST", "/v1/broadcast", {"messageId": m, "appId": a, "groups": [d]}, 400),
            ("POST", f"/v1/apps/{a}/tokens", {"tokens": [{"token": "5", "contactId": d}]}, 400),
            ("POST", "/v1/contact", {"contactId": d}, 400),
            ("POST", f"/v1/groups/{g}/contacts", {"contactIds": [d]}, 400),
            ("POST", f"/v1/message/{m}/test", {"contactIds": [d]}, 400),
            (
                "POST",
                f"/v1/message/{m}/smartsend",
                {"appId": a, "recipients": [{"contactId": d}]},
                400,
            ),
        ]
    _check_all(client, db, cases)

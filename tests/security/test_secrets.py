"""Bot tokens and API keys never leak into responses or logs.

A full flow runs against the live service (uvicorn + worker) while every log record of
every logger is captured at DEBUG, along with every response body and header and the
process's stdout/stderr: connecting a bot (new and again), registering subscribers, a
broadcast whose sends meet Telegram 500s, 502s and dropped connections, a transactional
send, reports and CSV export, the dashboard, a getMe that rejects the token, and a
Telegram that cannot be reached at all. No captured text may hold a bot token's secret
part or an API key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from tests.support.service import LiveService, new_bot_token
from tests.support.waiting import wait_for

LOGGERS = [
    "",
    "hushcast",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "asyncio",
    "sqlalchemy.pool",
    "alembic",
    "httpx",
    "httpcore",
]
# The fake Telegram server is test infrastructure; its own request log shows the
# /bot<TOKEN>/ paths it serves, as Telegram's would. The product serves HTTP with uvicorn
# and uses aiohttp only as a client, so these two loggers never carry the product's output.
FAKE_SERVER_LOGGERS = ("aiohttp.access", "aiohttp.server", "hushcast.telegram.fake_server")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(FAKE_SERVER_LOGGERS):
            return
        try:
            text = self.format(record)  # includes the traceback of exc_info
        except Exception as exc:  # noqa: BLE001
            text = f"{record.name} unformattable {record.msg!r} {record.args!r} {exc!r}"
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append(text)


@pytest.fixture
def logs() -> Iterator[Capture]:
    handler = Capture()
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate)
        logger.setLevel(logging.DEBUG)
    # SQL statements too (an operator may well turn these on); rows are a DEBUG-only dump.
    sql = logging.getLogger("sqlalchemy.engine")
    saved["sqlalchemy.engine"] = (sql.level, sql.propagate)
    sql.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    # Loggers that do not propagate (uvicorn's access log) get the handler directly.
    extra = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error")]
    for logger in extra:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger in extra:
            logger.removeHandler(handler)
        for name, (level, propagate) in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagate


class Responses:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def record(self, response: Any) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.texts.append(f"{response.request.method} {response.request.url}\n{headers}\n")
        self.texts.append(response.text)


def _secrets_of(bot_token: str) -> list[str]:
    # The part after the colon is the secret; the bot id before it is public.
    return [bot_token, bot_token.split(":", 1)[1]]


def _assert_absent(secrets: list[str], texts: list[str], where: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"secret leaked in {where}: ...{text[:2000]}"


def test_bot_tokens_and_api_keys_never_leak(
    logs: Capture,
    live: LiveService,
    fake_telegram: Any,
    settings: Settings,
    db: Database,
    api_key: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    responses = Responses()
    http = live.http
    http.event_hooks["response"].append(responses.record)
    bot_token = new_bot_token(fake_telegram)
    secrets = _secrets_of(bot_token)

    # connect, reconnect, read, change
    r = http.post("/v1/apps", json={"botToken": bot_token, "name": "Secret bot"})
    assert r.status_code == 201, r.text
    app = r.json()["appUuid"]
    assert http.post("/v1/apps", json={"botToken": bot_token}).status_code == 200
    http.get("/v1/apps")
    http.get(f"/v1/apps/{app}")
    http.patch(f"/v1/apps/{app}", json={"messagesPerSecond": 500, "privateChatPerSecond": 500})

    chats = [str(5_000_000 + i) for i in range(30)]
    items = [{"token": c, "externalCustomerId": f"c{c}"} for c in chats]
    assert http.post(f"/v1/apps/{app}/tokens", json={"tokens": items}).status_code == 200
    http.get(f"/v1/apps/{app}/tokens")
    http.post(f"/v1/apps/{app}/token/mute", json={"token": chats[0], "duration": 600})

    # a broadcast that meets Telegram 500s, 502s and dropped connections
    fake_telegram.configure(
        fault_schedule=[
            {"after": 0, "count": 6, "kind": "500"},
            {"after": 6, "count": 4, "kind": "502"},
            {"after": 10, "count": 4, "kind": "drop"},
        ]
    )
    r = http.post("/v1/messages/telegram", json={"name": "m", "text": "Hello %FIRSTNAME|you%"})
    message = r.json()["id"]
    r = http.post("/v1/broadcast", json={"messageId": message, "appId": app})
    assert r.status_code == 200, r.text
    broadcast = int(r.json()["broadcastId"])

    def finished() -> bool:
        return http.get(f"/v1/broadcast/{broadcast}").json()["status"] == "FINISHED"

    wait_for(finished, timeout=90)

    # transactional sends while every send fails with 500, then recover
    fake_telegram.configure(fault_schedule=[], fault_rate=1.0, fault_kind="500")
    r = http.post(
        f"/v1/message/{message}/smartsend",
        json={"appId": app, "recipients": [{"locator": c} for c in chats[:3]]},
    )
    assert r.status_code == 200, r.text
    ids = [x["requestId"] for x in r.json()["results"] if x["requestId"]]

    def settled() -> bool:
        got = http.get("/v1/message/status", params={"ids": ",".join(ids)}).json()["results"]
        return all(x["status"] not in ("IN_QUEUE", "SENDING", "QUEUED") for x in got)

    wait_for(settled, timeout=90)
    fake_telegram.configure(fault_rate=0.0)
    http.post(f"/v1/message/{message}/test", json={"tokens": chats[3:5]})

    http.get(f"/v1/broadcast/{broadcast}/report")
    http.get(f"/v1/broadcast/{broadcast}/report/contacts", params={"bucket": "all"})
    http.get(f"/v1/broadcast/{broadcast}/report/contacts", params={"format": "csv"})
    http.get("/v1/messages/single-report")
    http.get(f"/v1/messages/{message}/report")
    http.get("/openapi.json")
    http.get("/metrics")

    # the dashboard, signed in
    ui = httpx.Client(base_url=live.base_url, event_hooks={"response": [responses.record]})
    page = ui.get("/ui/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = ui.post("/ui/login", data={"api_key": api_key, "csrf_token": csrf.group(1)})
    assert r.status_code in (200, 303), r.text
    ui.get("/ui")
    ui.get(f"/ui/apps/{app}")
    ui.get(f"/ui/broadcasts/{broadcast}")
    ui.get(f"/ui/broadcasts/{broadcast}/export.csv")
    ui.close()

    # getMe rejects a token
    rejected = f"{7_123_456_789}:AAH{'x' * 32}"
    r = http.post("/v1/apps", json={"botToken": rejected})
    assert r.status_code == 400 and r.json()["detail"] == "Invalid bot token", r.text
    secrets += _secrets_of(rejected)

    # Telegram cannot be reached at all
    unreachable = new_bot_token(fake_telegram)
    secrets += _secrets_of(unreachable)
    down = settings.model_copy(update={"telegram_api_url": "http://127.0.0.1:9"})
    with TestClient(create_app(down, db=db), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        r = c.post("/v1/apps", json={"botToken": unreachable})
        responses.texts.append(r.text + str(r.headers))
        assert r.status_code == 502, r.text

    # the worker with Telegram gone: the live bot's sends fail to connect
    fake_telegram.configure(fault_rate=1.0, fault_kind="drop")
    r = http.post(
        f"/v1/message/{message}/smartsend",
        json={"appId": app, "recipients": [{"locator": chats[6]}]},
    )
    request_id = r.json()["results"][0]["requestId"]

    def failed() -> bool:
        got = http.get("/v1/message/status", params={"ids": request_id}).json()["results"]
        return got[0]["status"] not in ("IN_QUEUE", "SENDING", "QUEUED")

    wait_for(failed, timeout=90)
    fake_telegram.configure(fault_rate=0.0)

    out, err = capfd.readouterr()
    assert responses.texts and logs.lines
    _assert_absent(secrets, responses.texts, "an API response")
    _assert_absent(secrets, logs.lines, "the logs")
    _assert_absent(secrets, [out, err], "stdout/stderr")
    _assert_absent([api_key], logs.lines + [out, err], "the logs")
    # the capture does see the flow (so an empty capture cannot pass the test)
    assert any("hushcast" in line for line in logs.lines), logs.lines[:20]


def test_api_key_never_in_responses_or_logs(
    logs: Capture, client: TestClient, api_key: str, other_key: str
) -> None:
    texts: list[str] = []
    for headers in (
        {},
        {"Authorization": f"Bearer {api_key}x"},
        {"Authorization": f"Bearer {other_key}"},
        {
            "Authorization": "Basic "
            + __import__("base64").b64encode(f"u:{api_key}".encode()).decode()
        },
    ):
        for method, url in (("GET", "/v1/apps"), ("GET", "/v1/ping"), ("POST", "/v1/groups")):
            r = client.request(method, url, headers=headers, json={"name": "g"})
            texts.append(r.text + str(r.headers))
    for key in (api_key, other_key):
        _assert_absent([key], texts, "an API response")
        _assert_absent([key], logs.lines, "the logs")

"""HttpTelegramClient against the fake server over loopback HTTP, and SendResult rules."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from aiohttp import web

from hushcast.telegram import (
    BotInfo,
    HttpTelegramClient,
    InvalidBotToken,
    SendResult,
    TelegramClient,
    TelegramUnavailable,
)
from hushcast.telegram.client import build_inline_keyboard, redact_token
from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.fake_server import FakeTelegramServer

TOKEN = "8080123:AAClientTestSecret_xyz"
BOT_ID = 8080123


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer(
        FakeTelegramConfig(
            tokens={TOKEN: {"id": BOT_ID, "username": "client_test_bot", "first_name": "Client"}}
        )
    )
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def client(fake: FakeTelegramServer) -> AsyncIterator[HttpTelegramClient]:
    assert fake.base_url
    tg = HttpTelegramClient(fake.base_url, timeout=5.0)
    yield tg
    await tg.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_http_client_satisfies_protocol() -> None:
    client: TelegramClient = HttpTelegramClient()
    assert isinstance(client, HttpTelegramClient)


# -- getMe -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_ok(client: HttpTelegramClient) -> None:
    assert await client.get_me(TOKEN) == BotInfo(
        id=BOT_ID, username="client_test_bot", first_name="Client"
    )


@pytest.mark.asyncio
async def test_get_me_invalid_token(client: HttpTelegramClient) -> None:
    secret = "1234:AAwrongSecretValue"
    with pytest.raises(InvalidBotToken) as info:
        await client.get_me(secret)
    assert secret not in str(info.value)
    with pytest.raises(InvalidBotToken):
        await client.get_me("has/slash")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, '{"ok": false, "error_code": 500, "description": "Internal Server Error"}'),
        (502, "<html>Bad Gateway</html>"),
        (
            429,
            '{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5"}',
        ),
    ],
)
async def test_get_me_server_error(status: int, body: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = HttpTelegramClient(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TelegramUnavailable) as info:
            await client.get_me(TOKEN)
        assert TOKEN not in str(info.value)
    finally:
        await client.close()
        await runner.cleanup()


@pytest.mark.asyncio
async def test_get_me_404_path_is_invalid_token(fake: FakeTelegramServer) -> None:
    assert fake.base_url
    client = HttpTelegramClient(fake.base_url + "/nowhere")
    try:
        with pytest.raises(InvalidBotToken):  # proxies answering 404 look like a bad token
            await client.get_me(TOKEN)
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_get_me_unreachable() -> None:
    client = HttpTelegramClient(f"http://127.0.0.1:{_free_port()}", timeout=2.0)
    try:
        with pytest.raises(TelegramUnavailable) as info:
            await client.get_me(TOKEN)
        assert TOKEN not in str(info.value)
        assert "AAClientTestSecret" not in repr(info.value)
    finally:
        await client.close()


# -- sends ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_send_message_ok_with_buttons(
    client: HttpTelegramClient, fake: FakeTelegramServer
) -> None:
    buttons = [{"text": "A", "url": "https://a.example"}, {"text": "B", "url": "https://b.example"}]
    result = await client.send_message(TOKEN, "101", "Hello", buttons=buttons)
    assert result == SendResult(ok=True, message_id=1)
    assert not result.is_retryable and not result.is_chat_gone
    [rec] = fake.messages
    assert rec["chat_id"] == "101" and rec["text"] == "Hello"
    assert rec["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "A", "url": "https://a.example"}],
            [{"text": "B", "url": "https://b.example"}],
        ]
    }
    assert rec["allow_paid_broadcast"] is False


@pytest.mark.asyncio
async def test_send_photo_ok_paid(client: HttpTelegramClient, fake: FakeTelegramServer) -> None:
    result = await client.send_photo(TOKEN, "102", "AgACfileid", "cap", allow_paid_broadcast=True)
    assert result.ok and result.message_id == 1
    [rec] = fake.messages
    assert rec["method"] == "sendPhoto"
    assert (rec["photo"], rec["caption"], rec["allow_paid_broadcast"]) == (
        "AgACfileid",
        "cap",
        True,
    )
    assert rec["reply_markup"] is None
    result = await client.send_photo(TOKEN, "103", "AgACfileid", None)
    assert result.ok
    assert fake.messages[1]["caption"] is None


@pytest.mark.asyncio
async def test_rate_limited(client: HttpTelegramClient) -> None:
    assert (await client.send_message(TOKEN, "104", "one")).ok
    result = await client.send_message(TOKEN, "104", "two")
    assert not result.ok
    assert result.error_code == 429
    assert result.retry_after == 1
    assert result.description == "Too Many Requests: retry after 1"
    assert result.is_retryable and result.is_rate_limited
    assert not result.is_chat_gone
    assert result.transport_error is None


@pytest.mark.asyncio
async def test_blocked_and_deactivated_are_chat_gone(
    client: HttpTelegramClient, fake: FakeTelegramServer
) -> None:
    fake.configure(blocked={"201"}, deactivated={"202"})
    blocked = await client.send_message(TOKEN, "201", "x")
    assert blocked == SendResult(
        ok=False, error_code=403, description="Forbidden: bot was blocked by the user"
    )
    assert blocked.is_chat_gone and not blocked.is_retryable
    gone = await client.send_message(TOKEN, "202", "x")
    assert (gone.error_code, gone.description) == (403, "Forbidden: user is deactivated")
    assert gone.is_chat_gone and not gone.is_retryable


@pytest.mark.asyncio
async def test_chat_not_found_and_bad_request(
    client: HttpTelegramClient, fake: FakeTelegramServer
) -> None:
    fake.configure(missing={"203"})
    missing = await client.send_message(TOKEN, "203", "x")
    assert (missing.error_code, missing.description) == (400, "Bad Request: chat not found")
    assert not missing.is_chat_gone and not missing.is_retryable
    too_long = await client.send_message(TOKEN, "204", "x" * 5000)
    assert (too_long.error_code, too_long.description) == (400, "Bad Request: message is too long")
    assert not too_long.is_retryable
    caption = await client.send_photo(TOKEN, "205", "AgAC", "c" * 2000)
    assert caption.description == "Bad Request: message caption is too long"


@pytest.mark.asyncio
async def test_migrated(client: HttpTelegramClient, fake: FakeTelegramServer) -> None:
    fake.configure(migrated={"-300": -1009999})
    result = await client.send_message(TOKEN, "-300", "x")
    assert result.error_code == 400
    assert result.migrate_to_chat_id == -1009999
    assert result.is_migrated and not result.is_retryable and not result.is_chat_gone


@pytest.mark.asyncio
async def test_unknown_token_on_send(client: HttpTelegramClient) -> None:
    result = await client.send_message("1:AAnope", "1", "x")
    assert (result.ok, result.error_code, result.description) == (False, 401, "Unauthorized")
    assert not result.is_retryable


@pytest.mark.asyncio
async def test_fault_500_is_retryable(client: HttpTelegramClient, fake: FakeTelegramServer) -> None:
    fake.configure(fault_rate=1.0, fault_kind="500")
    result = await client.send_message(TOKEN, "1", "x")
    assert result == SendResult(ok=False, error_code=500, description="Internal Server Error")
    assert result.is_retryable


@pytest.mark.asyncio
async def test_fault_502_non_json(client: HttpTelegramClient, fake: FakeTelegramServer) -> None:
    fake.configure(fault_rate=1.0, fault_kind="502")
    result = await client.send_message(TOKEN, "1", "x")
    assert not result.ok
    assert result.error_code == 502
    assert result.transport_error is not None and "502" in result.transport_error
    assert result.is_retryable


@pytest.mark.asyncio
async def test_fault_drop_is_transport_error(
    client: HttpTelegramClient, fake: FakeTelegramServer
) -> None:
    fake.configure(fault_rate=1.0, fault_kind="drop")
    result = await client.send_message(TOKEN, "1", "x")
    assert not result.ok
    assert result.error_code is None
    assert result.transport_error is not None
    assert "ServerDisconnected" in result.transport_error
    assert TOKEN not in result.transport_error
    assert result.is_retryable
    # the shared session recovers for the next request
    fake.configure(fault_rate=0.0)
    assert (await client.send_message(TOKEN, "2", "x")).ok


@pytest.mark.asyncio
async def test_timeout_is_transport_error(fake: FakeTelegramServer) -> None:
    fake.configure(fault_rate=1.0, fault_kind="timeout", timeout_s=1.0)
    assert fake.base_url
    client = HttpTelegramClient(fake.base_url, timeout=0.2)
    try:
        result = await client.send_message(TOKEN, "1", "x")
    finally:
        await client.close()
    assert result == SendResult(ok=False, transport_error="timeout")
    assert result.is_retryable


@pytest.mark.asyncio
async def test_connection_refused_is_transport_error() -> None:
    client = HttpTelegramClient(f"http://127.0.0.1:{_free_port()}", timeout=2.0)
    try:
        result = await client.send_message(TOKEN, "1", "x")
    finally:
        await client.close()
    assert not result.ok and result.error_code is None
    assert result.transport_error and result.transport_error.startswith("ClientConnectorError")
    assert "AAClientTestSecret" not in result.transport_error
    assert result.is_retryable


@pytest.mark.serial  # 200 sends at once within the client's timeout
@pytest.mark.asyncio
async def test_concurrent_sends_share_one_session(
    client: HttpTelegramClient, fake: FakeTelegramServer
) -> None:
    fake.configure(enforce_limits=False)
    results = await asyncio.gather(
        *(client.send_message(TOKEN, str(5000 + i), "x") for i in range(200))
    )
    assert all(r.ok for r in results)
    assert fake.stats["accepted"] == 200


def test_client_survives_separate_event_loops(fake_url_thread: str) -> None:
    client = HttpTelegramClient(fake_url_thread)
    # e.g. a sync API layer calling asyncio.run() for each check
    assert asyncio.run(client.get_me(TOKEN)).id == BOT_ID
    assert asyncio.run(client.get_me(TOKEN)).id == BOT_ID
    asyncio.run(client.close())


@pytest.fixture
def fake_url_thread() -> Iterator[str]:
    from hushcast.telegram.testing import FakeTelegramThread

    thread = FakeTelegramThread()
    thread.server.register_bot(TOKEN, BOT_ID, "client_test_bot", "Client")
    url = thread.start()
    yield url
    thread.stop()


# -- SendResult rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "gone"),
    [
        ("Forbidden: bot was blocked by the user", True),
        ("Forbidden: user is deactivated", True),
        ("Forbidden: bot was kicked from the group chat", True),
        ("Forbidden: bot was kicked from the supergroup chat", True),
        ("Forbidden: bot was kicked from the channel chat", True),
        ("Forbidden: the group chat was deleted", True),
        ("Forbidden: bot is not a member of the supergroup chat", True),
        ("Forbidden: bot can't initiate conversation with a user", True),
        ("Forbidden: bot can't send messages to bots", False),
    ],
)
def test_is_chat_gone_variants(description: str, gone: bool) -> None:
    assert SendResult(ok=False, error_code=403, description=description).is_chat_gone is gone
    # same text with another code is not "gone"
    assert SendResult(ok=False, error_code=400, description=description).is_chat_gone is False


@pytest.mark.parametrize(
    ("result", "retryable"),
    [
        (SendResult(ok=True, message_id=1), False),
        (SendResult(ok=False, transport_error="timeout"), True),
        (SendResult(ok=False, error_code=429, retry_after=3), True),
        (SendResult(ok=False, error_code=500), True),
        (SendResult(ok=False, error_code=503), True),
        (SendResult(ok=False, error_code=400), False),
        (SendResult(ok=False, error_code=403), False),
        (SendResult(ok=False, error_code=401), False),
    ],
)
def test_is_retryable(result: SendResult, retryable: bool) -> None:
    assert result.is_retryable is retryable


def test_helpers() -> None:
    assert build_inline_keyboard([{"text": "a", "url": "u"}]) == {
        "inline_keyboard": [[{"text": "a", "url": "u"}]]
    }
    assert (
        redact_token("GET /bot123456:AAsecret_value/sendMessage")
        == "GET /bot<redacted>/sendMessage"
    )
    assert "mysecret" not in redact_token("x mysecret y", "mysecret")


@pytest.mark.asyncio
async def test_retry_after_header_fallback_and_odd_answers() -> None:
    answers = iter(
        [
            web.Response(
                status=429,
                text='{"ok": false, "error_code": 429, "description": "Too Many Requests"}',
                headers={"Retry-After": "12"},
            ),
            web.Response(status=200, text="<html>captive portal</html>"),
            web.Response(status=413, text="<html>Request Entity Too Large</html>"),
            # Not UTF-8 (Latin-1 bytes): not a JSON answer, whatever it would decode to.
            web.Response(
                status=200, body=b'{"ok": true, "result": {"message_id": 7, "x": "\xe9"}}'
            ),
            web.Response(
                status=400,
                body='{"ok": false, "error_code": 400, "description": "Bad Request: чат"}'.encode(),
            ),
        ]
    )

    async def handler(request: web.Request) -> web.Response:
        return next(answers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = HttpTelegramClient(f"http://127.0.0.1:{port}")
    try:
        limited = await client.send_message(TOKEN, "1", "x")
        assert (limited.error_code, limited.retry_after) == (429, 12)
        assert limited.is_retryable
        portal = await client.send_message(TOKEN, "1", "x")
        assert not portal.ok and portal.transport_error and portal.is_retryable
        too_large = await client.send_message(TOKEN, "1", "x")
        assert (too_large.ok, too_large.error_code, too_large.transport_error) == (False, 413, None)
        assert not too_large.is_retryable
        latin1 = await client.send_message(TOKEN, "1", "x")
        assert (latin1.ok, latin1.transport_error) == (False, "non-JSON response (HTTP 200)")
        utf8 = await client.send_message(TOKEN, "1", "x")
        assert (utf8.error_code, utf8.description) == (400, "Bad Request: чат")
    finally:
        await client.close()
        await runner.cleanup()

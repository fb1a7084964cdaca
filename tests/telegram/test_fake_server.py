"""The fake Telegram Bot API server, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.fake_server import FakeTelegramServer
from hushcast.telegram.testing import TEST_BOT_TOKEN, FakeTelegramThread

TOKEN = "555111:AAFakeServerToken_abc"
BOT_ID = 555111


class Api:
    """Tiny raw HTTP helper around one fake server."""

    def __init__(self, server: FakeTelegramServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.url = server.base_url or ""

    async def call(
        self,
        method: str,
        http: str = "POST",
        token: str = TOKEN,
        **kwargs: Any,
    ) -> tuple[int, dict[str, Any], Any]:
        async with self.session.request(http, f"{self.url}/bot{token}/{method}", **kwargs) as resp:
            body = await resp.json(content_type=None)
            return resp.status, body, resp.headers

    async def send(
        self, chat_id: Any, text: str = "hello", **extra: Any
    ) -> tuple[int, dict[str, Any], Any]:
        return await self.call("sendMessage", json={"chat_id": chat_id, "text": text, **extra})

    async def control(self, http: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(http, f"{self.url}/_fake/{path}", **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[Api]:
    server = FakeTelegramServer(
        FakeTelegramConfig(tokens={TOKEN: {"id": BOT_ID, "username": "fake_srv_bot"}})
    )
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)
    await server.stop()


# -- getMe / routing -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_ok(api: Api) -> None:
    status, body, _ = await api.call("getMe", "GET")
    assert status == 200
    assert body["ok"] is True
    me = body["result"]
    assert me["id"] == BOT_ID
    assert me["is_bot"] is True
    assert me["username"] == "fake_srv_bot"
    assert me["first_name"] == "fake_srv_bot"
    for key in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries"):
        assert isinstance(me[key], bool)


@pytest.mark.asyncio
async def test_unknown_token_is_401(api: Api) -> None:
    status, body, _ = await api.call("getMe", token="999:nope")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    status, _, _ = await api.call("sendMessage", token="999:nope", json={"chat_id": 1, "text": "x"})
    assert status == 401
    assert api.server.stats["accepted"] == 0


@pytest.mark.asyncio
async def test_accept_any_token(api: Api) -> None:
    api.server.configure(accept_any_token=True)
    status, body, _ = await api.call("getMe", token="424242:whatever-SECRET_1")
    assert status == 200
    assert body["result"]["id"] == 424242
    assert body["result"]["username"] == "bot424242_bot"
    status, _, _ = await api.call("getMe", token="not-a-token")
    assert status == 401


@pytest.mark.asyncio
async def test_method_names_are_case_insensitive_and_test_env_route(api: Api) -> None:
    for method in ("getme", "GETME", "GetMe"):
        status, body, _ = await api.call(method, "GET")
        assert status == 200, method
        assert body["result"]["id"] == BOT_ID
    status, body, _ = await api.call("SENDMESSAGE", json={"chat_id": 1, "text": "a"})
    assert status == 200
    status, body, _ = await api.call("test/sendMessage", json={"chat_id": 2, "text": "b"})
    assert status == 200
    assert body["result"]["chat"]["id"] == 2


@pytest.mark.asyncio
async def test_unknown_method_and_path(api: Api) -> None:
    status, body, _ = await api.call("sendTelepathy", json={})
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    async with api.session.get(f"{api.url}/somewhere/else") as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# -- parameter encodings ---------------------------------------------------------------------

MARKUP = {"inline_keyboard": [[{"text": "Open", "url": "https://example.com"}]]}


@pytest.mark.asyncio
async def test_send_message_json(api: Api) -> None:
    status, body, _ = await api.send(42, "hi there", reply_markup=MARKUP)
    assert status == 200
    msg = body["result"]
    assert msg["message_id"] == 1
    assert msg["text"] == "hi there"
    assert msg["chat"] == {"id": 42, "type": "private", "first_name": "User 42"}
    assert msg["from"]["id"] == BOT_ID and msg["from"]["is_bot"] is True
    assert abs(msg["date"] - time.time()) < 5
    assert msg["reply_markup"] == MARKUP
    [rec] = api.server.messages
    assert rec["chat_id"] == "42"
    assert rec["bot_id"] == BOT_ID
    assert rec["method"] == "sendMessage"
    assert rec["text"] == "hi there"
    assert rec["reply_markup"] == MARKUP
    assert rec["allow_paid_broadcast"] is False
    assert rec["message_id"] == 1


@pytest.mark.asyncio
async def test_send_message_form_with_json_string_markup(api: Api) -> None:
    data = {
        "chat_id": "43",
        "text": "form",
        "reply_markup": json.dumps(MARKUP),
        "allow_paid_broadcast": "true",
    }
    status, body, _ = await api.call("sendMessage", data=data)
    assert status == 200, body
    assert body["result"]["reply_markup"] == MARKUP
    [rec] = api.server.messages
    assert rec["reply_markup"] == MARKUP
    assert rec["allow_paid_broadcast"] is True


@pytest.mark.asyncio
async def test_send_message_bad_markup_json(api: Api) -> None:
    status, body, _ = await api.call(
        "sendMessage", data={"chat_id": "43", "text": "x", "reply_markup": "{oops"}
    )
    assert status == 400
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


@pytest.mark.asyncio
async def test_send_message_multipart(api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", "44")
    form.add_field("text", "multipart")
    form.add_field("reply_markup", json.dumps(MARKUP))
    form.add_field("unused_file", b"\x00\x01", filename="x.bin")  # forces multipart encoding
    status, body, _ = await api.call("sendMessage", data=form)
    assert status == 200, body
    assert body["result"]["text"] == "multipart"
    assert body["result"]["reply_markup"] == MARKUP


@pytest.mark.asyncio
async def test_send_photo_multipart_upload(api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", "45")
    form.add_field("caption", "a cat")
    form.add_field("photo", b"\x89PNG fake bytes", filename="cat.png", content_type="image/png")
    status, body, _ = await api.call("sendPhoto", data=form)
    assert status == 200, body
    msg = body["result"]
    assert msg["caption"] == "a cat"
    sizes = msg["photo"]
    assert len(sizes) >= 1
    for size in sizes:
        assert {"file_id", "file_unique_id", "width", "height", "file_size"} <= set(size)
    [rec] = api.server.messages
    assert rec["photo"] == "upload:cat.png"
    assert rec["method"] == "sendPhoto"


@pytest.mark.asyncio
async def test_send_message_query_string(api: Api) -> None:
    status, body, _ = await api.call(
        "sendMessage", "GET", params={"chat_id": "-100777", "text": "q"}
    )
    assert status == 200
    assert body["result"]["chat"]["type"] == "supergroup"
    assert body["result"]["chat"]["title"]
    status, body, _ = await api.call("sendMessage", "GET", params={"chat_id": "-777", "text": "q"})
    assert body["result"]["chat"]["type"] == "group"


@pytest.mark.asyncio
async def test_send_photo_by_file_id_reuses_it(api: Api) -> None:
    status, body, _ = await api.call(
        "sendPhoto", json={"chat_id": 46, "photo": "https://e.com/a.jpg"}
    )
    assert status == 200
    file_id = body["result"]["photo"][-1]["file_id"]
    assert "caption" not in body["result"]
    status, body, _ = await api.call(
        "sendPhoto", json={"chat_id": 47, "photo": file_id, "caption": "again"}
    )
    assert status == 200
    assert body["result"]["photo"][-1]["file_id"] == file_id
    assert api.server.messages[1]["photo"] == file_id


@pytest.mark.asyncio
async def test_message_ids_increase_per_chat(api: Api) -> None:
    api.server.configure(enforce_limits=False)
    ids = [(await api.send(50))[1]["result"]["message_id"] for _ in range(3)]
    assert ids == [1, 2, 3]
    assert (await api.send(51))[1]["result"]["message_id"] == 1


# -- error catalogue ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("payload", "code", "description"),
    [
        ({"text": "x"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": "", "text": "x"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": 1}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 1, "text": ""}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 1, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": "blocked", "text": "x"}, 403, "Forbidden: bot was blocked by the user"),
        ({"chat_id": 9001, "text": "x"}, 403, "Forbidden: user is deactivated"),
        ({"chat_id": 9002, "text": "x"}, 400, "Bad Request: chat not found"),
    ],
)
async def test_send_message_errors(
    api: Api, payload: dict[str, Any], code: int, description: str
) -> None:
    api.server.configure(blocked=["blocked"], deactivated=["9001"], missing=["9002"])
    status, body, _ = await api.call("sendMessage", json=payload)
    assert status == code
    assert body == {"ok": False, "error_code": code, "description": description}
    assert api.server.stats["accepted"] == 0
    assert api.server.messages == []


@pytest.mark.asyncio
async def test_text_of_exactly_4096_is_fine(api: Api) -> None:
    status, _, _ = await api.send(1, "x" * 4096)
    assert status == 200


@pytest.mark.asyncio
async def test_caption_too_long(api: Api) -> None:
    payload = {"chat_id": 1, "photo": "abc", "caption": "c" * 1025}
    status, body, _ = await api.call("sendPhoto", json=payload)
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")
    payload["caption"] = "c" * 1024
    status, _, _ = await api.call("sendPhoto", json=payload)
    assert status == 200


@pytest.mark.asyncio
async def test_migrated_group(api: Api) -> None:
    api.server.configure(migrated={"-123": -1001234567890})
    status, body, _ = await api.send(-123)
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001234567890},
    }


# -- rate limits ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_global_rate_31_messages_in_one_second(api: Api) -> None:
    start = time.monotonic()
    results = [await api.send(1000 + i) for i in range(31)]
    assert time.monotonic() - start < 1.0, "test machine too slow for this check"
    assert [s for s, _, _ in results[:30]] == [200] * 30
    status, body, headers = results[30]
    assert status == 429
    assert body["error_code"] == 429
    assert body["description"] == "Too Many Requests: retry after 1"
    assert body["parameters"] == {"retry_after": 1}
    assert headers["Retry-After"] == "1"
    assert api.server.stats["rate_limited"] == 1
    assert api.server.stats["accepted"] == 30
    assert len(api.server.messages) == 30


@pytest.mark.asyncio
async def test_global_window_is_sliding_no_refill_burst(api: Api) -> None:
    """A token bucket would let ~15 more through after 0.5 s; a sliding window does not."""
    api.server.configure(global_rate=10)
    for i in range(10):
        assert (await api.send(2000 + i))[0] == 200
    first = api.server.messages[0]["monotonic"]
    await asyncio.sleep(0.5)
    assert (await api.send(2100))[0] == 429
    await asyncio.sleep(max(0.0, first + 1.02 - time.monotonic()))
    assert (await api.send(2101))[0] == 200


@pytest.mark.asyncio
async def test_pause_counts_the_union_of_retry_after_windows(api: Api) -> None:
    """A burst of 429s inside one retry_after is one pause of the bot, not one each."""
    api.server.configure(global_rate=1, retry_after=10)
    assert (await api.send(2200))[0] == 200
    start = time.monotonic()
    assert [(await api.send(2201 + i))[0] for i in range(3)] == [429] * 3
    spread_ms = (time.monotonic() - start) * 1000
    stats = api.server.stats
    assert stats["rate_limited"] == 3
    assert 10_000 <= stats["rate_limited_pause_ms"] <= 10_000 + spread_ms + 1
    api.server.clear()
    assert api.server.stats["rate_limited_pause_ms"] == 0


@pytest.mark.asyncio
async def test_private_chat_one_per_second(api: Api) -> None:
    assert (await api.send(77))[0] == 200
    status, body, headers = await api.send(77)
    assert status == 429
    assert body["parameters"]["retry_after"] == 1
    assert headers["Retry-After"] == "1"
    assert (await api.send(78))[0] == 200  # other chats unaffected


@pytest.mark.asyncio
async def test_rejected_requests_do_not_consume_budget(api: Api) -> None:
    api.server.configure(global_rate=3)
    for i in range(3):
        assert (await api.send(3000 + i))[0] == 200
    for _ in range(5):
        assert (await api.send(3100))[0] == 429
    assert api.server.stats["rate_limited"] == 5
    await asyncio.sleep(1.05)
    # the five 429s were not recorded: the window is empty again
    for i in range(3):
        assert (await api.send(3200 + i))[0] == 200


@pytest.mark.asyncio
async def test_group_twenty_per_minute(api: Api) -> None:
    for _ in range(20):
        status, _, _ = await api.call("sendMessage", json={"chat_id": -100555, "text": "g"})
        assert status == 200
        # stay under the global limit and keep the test fast: pretend time passed
        api.server._bots[BOT_ID].free_log.clear()
    status, body, headers = await api.send(-100555)
    assert status == 429
    retry_after = body["parameters"]["retry_after"]
    assert 55 <= retry_after <= 60
    assert headers["Retry-After"] == str(retry_after)
    assert body["description"] == f"Too Many Requests: retry after {retry_after}"
    assert (await api.send(-100556))[0] == 200


@pytest.mark.asyncio
async def test_paid_broadcast_allows_more(api: Api) -> None:
    api.server.configure(paid_rate=40)
    for i in range(40):
        status, _, _ = await api.send(4000 + i, allow_paid_broadcast=True)
        assert status == 200, i
    assert (await api.send(4100, allow_paid_broadcast=True))[0] == 429
    assert (await api.send(4101))[0] == 429  # free quota is also exhausted
    assert all(m["allow_paid_broadcast"] for m in api.server.messages)
    # per-chat limits still apply to paid messages
    api.server.clear()
    assert (await api.send(4200, allow_paid_broadcast=True))[0] == 200
    assert (await api.send(4200, allow_paid_broadcast=True))[0] == 429


@pytest.mark.asyncio
async def test_retry_after_override_and_limits_off(api: Api) -> None:
    api.server.configure(retry_after=7)
    await api.send(5)
    status, body, headers = await api.send(5)
    assert (status, body["parameters"]["retry_after"], headers["Retry-After"]) == (429, 7, "7")
    assert body["description"] == "Too Many Requests: retry after 7"
    api.server.configure(enforce_limits=False)
    for _ in range(40):
        assert (await api.send(5))[0] == 200


@pytest.mark.asyncio
async def test_per_chat_windows_are_pruned(api: Api) -> None:
    for i in range(5):
        await api.send(6000 + i)
    await api.send(-6000)
    state = api.server._bots[BOT_ID]
    assert len(state.chat_logs) == 5 and len(state.group_logs) == 1
    api.server._sweep(time.monotonic() + 2)
    assert state.chat_logs == {}
    assert len(state.group_logs) == 1
    api.server._sweep(time.monotonic() + 61)
    assert state.group_logs == {}


# -- latency and faults -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_latency(api: Api) -> None:
    api.server.configure(latency_ms=200)
    start = time.monotonic()
    assert (await api.send(1))[0] == 200
    assert time.monotonic() - start >= 0.19
    start = time.monotonic()
    assert (await api.call("getMe"))[0] == 200  # only send methods are delayed
    assert time.monotonic() - start < 0.15


@pytest.mark.asyncio
async def test_fault_500(api: Api) -> None:
    api.server.configure(fault_rate=1.0, fault_kind="500")
    status, body, _ = await api.send(1)
    assert status == 500
    assert body == {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    assert api.server.stats == {
        "accepted": 0,
        "rate_limited": 0,
        "rate_limited_pause_ms": 0,
        "faults": 1,
        "requests": 1,
        "in_flight": 0,
    }


@pytest.mark.asyncio
async def test_fault_502_is_not_json(api: Api) -> None:
    api.server.configure(fault_rate=1.0, fault_kind="502")
    async with api.session.post(
        f"{api.url}/bot{TOKEN}/sendMessage", json={"chat_id": 1, "text": "x"}
    ) as resp:
        assert resp.status == 502
        assert "Bad Gateway" in await resp.text()


@pytest.mark.asyncio
async def test_fault_drop_closes_connection(api: Api) -> None:
    api.server.configure(fault_rate=1.0, fault_kind="drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.send(1)
    assert api.server.stats["faults"] == 1
    assert api.server.messages == []


@pytest.mark.asyncio
async def test_fault_timeout_answers_late(api: Api) -> None:
    api.server.configure(fault_rate=1.0, fault_kind="timeout", timeout_s=0.5)
    with pytest.raises(asyncio.TimeoutError):
        await api.call(
            "sendMessage",
            json={"chat_id": 1, "text": "x"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    await asyncio.sleep(0.45)
    # the server still processed it: the ambiguous "timed out but delivered" case
    assert len(api.server.messages) == 1
    assert api.server.stats["faults"] == 1


@pytest.mark.asyncio
async def test_fault_schedule(api: Api) -> None:
    api.server.configure(
        enforce_limits=False, fault_schedule=[{"after": 2, "count": 2, "kind": "500"}]
    )
    statuses = [(await api.send(1))[0] for _ in range(6)]
    assert statuses == [200, 200, 500, 500, 200, 200]


@pytest.mark.asyncio
async def test_fault_rate_is_probabilistic(api: Api) -> None:
    api.server.configure(enforce_limits=False, fault_rate=0.5)
    statuses = [(await api.send(1))[0] for _ in range(100)]
    assert 15 < statuses.count(500) < 85
    assert statuses.count(500) == api.server.stats["faults"]


# -- webhook / getUpdates ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_webhook_and_get_updates(api: Api) -> None:
    status, body, _ = await api.call("getUpdates", json={})
    assert (status, body["result"]) == (200, [])
    status, body, _ = await api.call("setWebhook", json={"url": "https://example.com/hook"})
    assert (status, body["result"]) == (200, True)
    status, body, _ = await api.call("getWebhookInfo")
    assert body["result"]["url"] == "https://example.com/hook"
    status, body, _ = await api.call("getUpdates", json={})
    assert status == 409
    assert body["description"] == (
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first"
    )
    status, body, _ = await api.call("deleteWebhook")
    assert (status, body["result"]) == (200, True)

    update = {"message": {"message_id": 1, "chat": {"id": 7, "type": "private"}, "text": "/start"}}
    code, stored = await api.control("POST", "updates", json={"token": TOKEN, "update": update})
    assert code == 200 and stored["update"]["update_id"] == 1
    await api.control("POST", "updates", json={"token": TOKEN, "update": update})
    status, body, _ = await api.call("getUpdates", json={"limit": 1})
    assert [u["update_id"] for u in body["result"]] == [1]
    status, body, _ = await api.call("getUpdates", json={"offset": 2})
    assert [u["update_id"] for u in body["result"]] == [2]
    status, body, _ = await api.call("getUpdates", json={"offset": 3, "timeout": 30})
    assert body["result"] == []  # long poll is capped (max_poll_timeout_s = 1)


@pytest.mark.asyncio
async def test_long_poll_wakes_on_injected_update(api: Api) -> None:
    async def inject() -> None:
        await asyncio.sleep(0.1)
        api.server.inject_update(TOKEN, {"message": {"text": "hi"}})

    task = asyncio.create_task(inject())
    start = time.monotonic()
    status, body, _ = await api.call("getUpdates", json={"timeout": 5})
    await task
    assert status == 200
    assert len(body["result"]) == 1
    assert time.monotonic() - start < 0.9


# -- control API -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_control_endpoints(api: Api) -> None:
    api.server.configure(enforce_limits=False)
    await api.send(1, "one")
    await api.send(2, "two")
    await api.send(1, "three")
    code, msgs = await api.control("GET", "messages")
    assert code == 200
    assert [m["text"] for m in msgs] == ["one", "two", "three"]
    assert {"bot_id", "chat_id", "method", "message_id", "monotonic", "wall_time"} <= set(msgs[0])
    code, msgs = await api.control("GET", "messages", params={"chat_id": "1"})
    assert [m["text"] for m in msgs] == ["one", "three"]
    code, stats = await api.control("GET", "stats")
    assert stats == {
        "accepted": 3,
        "rate_limited": 0,
        "rate_limited_pause_ms": 0,
        "faults": 0,
        "requests": 3,
        "in_flight": 0,
    }
    code, _ = await api.control("DELETE", "messages")
    assert code == 200
    assert (await api.control("GET", "messages"))[1] == []
    assert (await api.control("GET", "stats"))[1]["accepted"] == 0


@pytest.mark.asyncio
async def test_control_config(api: Api) -> None:
    code, cfg = await api.control("GET", "config")
    assert code == 200
    assert cfg["global_rate"] == 30 and cfg["blocked"] == [] and cfg["enforce_limits"] is True
    code, cfg = await api.control(
        "PATCH", "config", json={"blocked": ["5", "6"], "global_rate": 12.5}
    )
    assert code == 200
    assert cfg["blocked"] == ["5", "6"] and cfg["global_rate"] == 12.5
    assert api.server.config.blocked == {"5", "6"}
    assert (await api.send(5))[0] == 403
    code, err = await api.control(
        "PATCH", "config", json={"fault_kind": "explode", "global_rate": 1}
    )
    assert code == 400 and "fault_kind" in err["description"]
    assert api.server.config.global_rate == 12.5  # all-or-nothing
    code, err = await api.control("PATCH", "config", json={"no_such_field": 1})
    assert code == 400


@pytest.mark.asyncio
async def test_control_register_bot(api: Api) -> None:
    token = "777:AAnewBot"
    assert (await api.call("getMe", token=token))[0] == 401
    code, _ = await api.control(
        "POST", "bots", json={"token": token, "id": 777, "username": "new_bot"}
    )
    assert code == 200
    status, body, _ = await api.call("getMe", token=token)
    assert status == 200
    assert body["result"]["username"] == "new_bot"
    code, _ = await api.control("POST", "updates", json={"token": "1:unknown", "update": {}})
    assert code == 404


# -- background thread helper ----------------------------------------------------------------


def test_fake_telegram_thread_sync_usage() -> None:
    thread = FakeTelegramThread()
    base_url = thread.start()
    try:
        thread.register_bot("31337:AAthread", 31337, "thread_bot")
        thread.configure(blocked={"13"})

        async def talk() -> list[int]:
            async with aiohttp.ClientSession() as session:
                statuses = []
                for chat in ("12", "13"):
                    url = f"{base_url}/bot31337:AAthread/sendMessage"
                    async with session.post(url, json={"chat_id": chat, "text": "t"}) as resp:
                        statuses.append(resp.status)
                return statuses

        assert asyncio.run(talk()) == [200, 403]
        [msg] = thread.messages()
        assert msg["chat_id"] == "12" and msg["bot_id"] == 31337
        assert thread.messages(chat_id="13") == []
        assert thread.stats()["accepted"] == 1
        thread.clear()
        assert thread.messages() == []
    finally:
        thread.stop()
    with pytest.raises(RuntimeError):
        thread.messages()


def test_fake_telegram_fixture(fake_telegram: FakeTelegramThread) -> None:
    assert fake_telegram.base_url and fake_telegram.base_url.startswith("http://127.0.0.1:")

    async def get_me() -> dict[str, Any]:
        url = f"{fake_telegram.base_url}/bot{TEST_BOT_TOKEN}/getMe"
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            result: dict[str, Any] = await resp.json()
            return result

    assert asyncio.run(get_me())["ok"] is True


@pytest.mark.asyncio
async def test_held_sends_wait_together_and_go_when_released(api: Api) -> None:
    api.server.configure(hold_sends=True)
    sends = [asyncio.create_task(api.send(9000 + i)) for i in range(20)]
    for _ in range(200):
        if api.server.stats["in_flight"] == 20:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert api.server.stats["in_flight"] == 20
    assert not any(t.done() for t in sends)
    # One watcher for all of them, not a poll per request.
    watchers = [t for t in asyncio.all_tasks() if "_watch_hold" in repr(t.get_coro())]
    assert len(watchers) == 1
    api.server.configure(hold_sends=False)
    answers = await asyncio.wait_for(asyncio.gather(*sends), 5)
    assert [status for status, _, _ in answers] == [200] * 20
    assert api.server.stats["in_flight"] == 0
    # Held again later: a new watcher.
    api.server.configure(hold_sends=True)
    held = asyncio.create_task(api.send(9999))
    await asyncio.sleep(0.1)
    assert not held.done()
    api.server.configure(hold_sends=False)
    assert (await asyncio.wait_for(held, 5))[0] == 200

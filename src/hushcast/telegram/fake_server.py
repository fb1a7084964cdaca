"""A fake Telegram Bot API server (aiohttp.web).

Used by Hushcast's tests, benchmarks and demo, and by users in their own CI. It speaks the
wire format of https://api.telegram.org closely enough for real client libraries (aiogram,
python-telegram-bot) and emulates Telegram's flood limits:

* about ``global_rate`` messages per second per bot, across all chats — a sliding 1 s window
  log, so there is no burst beyond the limit over *any* 1 s window;
* ``private_chat_rate`` messages per second to one private chat (chat id > 0);
* ``group_per_minute`` messages per sliding 60 s to one group/channel (chat id < 0 or ``@name``);
* ``paid_rate`` messages per second per bot for requests with ``allow_paid_broadcast`` (paid
  messages also count towards the free window, so a bot flooding with paid messages gets
  429 on free ones; per-chat limits still apply).

A rate ``<= 0`` disables that limit. For a fractional rate ``r`` the window log allows
``max(1, floor(r))`` messages per ``floor(r) / r`` seconds.

Run it: ``python -m hushcast.telegram.fake_server --port 8081 --accept-any-token``.
Control API (JSON) lives under ``/_fake/`` (see :class:`FakeTelegramServer`).

Its parts: the configuration (fake_config.py), the wire format and rate windows
(fake_wire.py), the control API (fake_server_control.py), webhooks, updates and
simulated users (fake_server_updates.py) and the command line (fake_cli.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from hushcast.telegram.fake_config import _TOKEN_SHAPE, FAULT_KINDS, FakeTelegramConfig, _bot_info
from hushcast.telegram.fake_server_control import FakeControl
from hushcast.telegram.fake_wire import (
    FakeApiError,
    _BotState,
    _chat_key,
    _chat_number,
    _error_response,
    _file_id,
    _ok_response,
    _truthy,
    _Upload,
    _wait_time,
    _window,
)

# FAULT_KINDS and FakeTelegramConfig live in fake_config.py; kept here as part of this
# module's API. The command line (main, run_fake_server) is in fake_cli.py.
__all__ = [
    "FAULT_KINDS",
    "FakeTelegramConfig",
    "FakeTelegramServer",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

_OBJECT_PARAMS = (
    "reply_markup",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
)
_SWEEP_INTERVAL = 2.0
_ARRIVAL_KEY = web.RequestKey("hushcast_fake_arrival", float)
_BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)


BotHandler = Callable[[web.Request, dict[str, Any], dict[str, Any]], Awaitable[web.StreamResponse]]


class FakeTelegramServer:
    """In-process fake Bot API server.

    Bot API routes: ``/bot<token>/<method>`` and ``/bot<token>/test/<method>`` (GET/POST).
    Methods: getMe, sendMessage, sendPhoto, setWebhook, deleteWebhook, getWebhookInfo, getUpdates.

    Control API (JSON; :class:`FakeControl`, fake_server_control.py):
      ``GET /_fake/messages[?chat_id=]`` list of accepted messages;
      ``DELETE /_fake/messages`` clear messages, stats, rate windows and the fault schedule counter;
      ``GET /_fake/stats`` ``{"accepted", "rate_limited", "rate_limited_pause_ms", "faults", "requests", "in_flight"}``;
      ``GET|PATCH /_fake/config`` read / partially update :class:`FakeTelegramConfig`;
      ``POST /_fake/bots`` ``{"token", "id", "username", "first_name"?}``;
      ``POST /_fake/updates`` ``{"token", "update": {...}}`` queue an update for getUpdates.
    """

    def __init__(self, config: FakeTelegramConfig | None = None) -> None:
        self.config = config if config is not None else FakeTelegramConfig()
        self._messages: deque[dict[str, Any]] = deque(maxlen=self.config.max_messages or None)
        self._bots: dict[int, _BotState] = {}
        self._message_ids: dict[tuple[int, str], int] = {}
        self._accepted = 0
        self._rate_limited = 0
        # Seconds the bots were barred by 429s: the union of each bot's retry_after
        # windows, so a burst of 429s inside one pause counts that pause once.
        self._barred_s = 0.0
        self._in_flight = 0
        self._faults = 0
        self._requests = 0
        self._send_requests = 0
        self._last_sweep = time.monotonic()
        # Set when the fake runs as its own process (see run_fake_server).
        self.freeze_gc_every = 0
        self._rng = random.Random()
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._hold_gate: asyncio.Future[None] | None = None
        self._hold_watcher: asyncio.Task[None] | None = None
        self.base_url: str | None = None
        self._methods: dict[str, BotHandler] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "getupdates": self._get_updates,
        }
        # The control API under /_fake/ (except the simulated users): fake_server_control.py.
        self.control = FakeControl(self)
        # setWebhook, deleteWebhook, getWebhookInfo (with secret_token, pushed) and the
        # simulated users: fake_server_updates.py.
        from hushcast.telegram.fake_server_updates import FakeUpdates

        self.updates = FakeUpdates(self)
        self._methods.update(self.updates.methods())

    # -- public python API -----------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [dict(m) for m in self._messages]

    def messages_for(self, chat_id: str | int | None = None) -> list[dict[str, Any]]:
        if chat_id is None:
            return self.messages
        key = str(chat_id)
        return [dict(m) for m in self._messages if m["chat_id"] == key]

    @property
    def stats(self) -> dict[str, int]:
        return {
            "accepted": self._accepted,
            "rate_limited": self._rate_limited,
            "rate_limited_pause_ms": round(self._barred_s * 1000),
            "faults": self._faults,
            "requests": self._requests,
            # Bot API requests being answered now (e.g. inside the simulated latency):
            # tests wait for 0 before counting what a killed client left behind.
            "in_flight": self._in_flight,
        }

    def clear(self) -> None:
        """Forget accepted messages, counters and rate windows (bots and config stay)."""
        self._messages.clear()
        self._accepted = self._rate_limited = self._faults = self._requests = 0
        self._send_requests = 0
        self._barred_s = 0.0
        for state in self._bots.values():
            state.barred_until = 0.0
            state.free_log.clear()
            state.all_log.clear()
            state.chat_logs.clear()
            state.group_logs.clear()

    def configure(self, **changes: Any) -> None:
        self._apply_config(changes)

    def register_bot(
        self, token: str, id: int, username: str, first_name: str | None = None
    ) -> dict[str, Any]:
        info = _bot_info({"id": id, "username": username, "first_name": first_name}, token)
        self.config.tokens[token] = info
        return info

    def inject_update(self, token: str, update: Mapping[str, Any]) -> dict[str, Any]:
        bot = self._resolve_token(token)
        if bot is None:
            raise KeyError("unknown bot token")
        state = self._state(bot["id"])
        stored = dict(update)
        if "update_id" not in stored:
            stored["update_id"] = state.next_update_id
        state.next_update_id = max(state.next_update_id, int(stored["update_id"]) + 1)
        state.updates.append(stored)
        state.update_event.set()
        self.updates.on_update(bot["id"])
        return stored

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        router = app.router
        self.control.install(router)
        self.updates.install(router)
        router.add_route("*", "/bot{token}/test/{method}", self._handle_bot)
        router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("fake server already started")
        self._closing = asyncio.Event()
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        # Telegram does not refuse connections; aiohttp's default backlog (128) did when
        # a worker opened its 256 connections at once to an in-process fake on a busy
        # machine (TcpExtListenOverflows), and each dropped SYN came back a second later,
        # as a request arriving a second after it was sent.
        site = web.TCPSite(runner, host, port, backlog=1024)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = port
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                bound_port = int(address[1])
                break
        url_host = "127.0.0.1" if host in ("0.0.0.0", "", None) else host
        if ":" in url_host:
            url_host = f"[{url_host}]"
        self.base_url = f"http://{url_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()
        await self.updates.close()
        runner = self._runner
        self._runner = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- helpers ---------------------------------------------------------------------------

    def _apply_config(self, changes: Mapping[str, Any]) -> None:
        old_max = self.config.max_messages
        self.config.update(changes)
        if self.config.max_messages != old_max:
            self._messages = deque(self._messages, maxlen=self.config.max_messages or None)

    def _resolve_token(self, token: str) -> dict[str, Any] | None:
        config = self.config
        info = config.tokens.get(token)
        if info is not None:
            return info
        if config.accept_any_token:
            match = _TOKEN_SHAPE.match(token)
            if match:
                digits = match.group(1)
                username = f"bot{digits}_bot"
                return {"id": int(digits), "username": username, "first_name": username}
        return None

    def _state(self, bot_id: int) -> _BotState:
        state = self._bots.get(bot_id)
        if state is None:
            state = self._bots[bot_id] = _BotState()
        return state

    async def _held(self) -> None:
        """Waits while ``hold_sends`` is on (or until the server closes). One watcher
        polls the flag for every held request: each polling it every 5 ms (a task per
        wait) took so much CPU with 300 requests held that the test process hosting the
        fake starved its API and worker of seconds."""
        gate = self._hold_gate
        if gate is None or gate.done():
            loop = asyncio.get_running_loop()
            gate = self._hold_gate = loop.create_future()
            # Referenced: the loop keeps only a weak reference to a task.
            self._hold_watcher = loop.create_task(self._watch_hold(gate))
        await asyncio.shield(gate)

    async def _watch_hold(self, gate: asyncio.Future[None]) -> None:
        try:
            while self.config.hold_sends and not (self._closing and self._closing.is_set()):
                await asyncio.sleep(0.005)
        finally:
            if not gate.done():
                gate.set_result(None)

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            return
        closing = self._closing
        if closing is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closing.wait(), delay)

    @staticmethod
    def _bot_user(bot: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": bot["id"],
            "is_bot": True,
            "first_name": bot["first_name"],
            "username": bot["username"],
        }

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.query_string:
            for key, query_value in request.query.items():
                params.setdefault(key, query_value)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        raise FakeApiError(400, "Bad Request: can't parse JSON object") from None
                    if not isinstance(data, dict):
                        raise FakeApiError(400, "Bad Request: JSON object expected")
                    params.update(data)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, form_value in form.items():
                    if isinstance(form_value, web.FileField):
                        content = form_value.file.read()
                        params[key] = _Upload(form_value.filename or key, len(content))
                    else:
                        params[key] = form_value
            else:
                await request.read()
        for key in _OBJECT_PARAMS:
            encoded = params.get(key)
            if isinstance(encoded, str):
                try:
                    params[key] = json.loads(encoded)
                except ValueError:
                    if key == "reply_markup":
                        raise FakeApiError(
                            400, "Bad Request: can't parse reply keyboard markup JSON object"
                        ) from None
                    raise FakeApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        return params

    def _pick_fault(self) -> str | None:
        config = self.config
        index = self._send_requests
        self._send_requests = index + 1
        for entry in config.fault_schedule:
            after = entry["after"]
            if after <= index < after + entry["count"]:
                return str(entry["kind"])
        if config.fault_rate > 0 and self._rng.random() < config.fault_rate:
            return config.fault_kind
        return None

    def _sweep(self, now: float) -> None:
        """Drop per-chat windows that are entirely in the past (bounded memory)."""
        self._last_sweep = now
        config = self.config
        private_window = _window(config.private_chat_rate, 1.0)[1]
        group_window = _window(config.group_per_minute, 60.0)[1]
        for state in self._bots.values():
            for logs, window in (
                (state.chat_logs, private_window),
                (state.group_logs, group_window),
            ):
                cutoff = now - window
                stale = [key for key, log in logs.items() if not log or log[-1] <= cutoff]
                for key in stale:
                    del logs[key]

    def _check_rate(
        self, state: _BotState, chat: str, is_group: bool, paid: bool, now: float
    ) -> float:
        """Seconds to wait before this send fits all limits (0.0: accept now)."""
        config = self.config
        wait = 0.0
        if paid:
            n, window = _window(config.paid_rate, 1.0)
            if n:
                wait = _wait_time(state.all_log, n, window, now)
        else:
            n, window = _window(config.global_rate, 1.0)
            if n:
                wait = _wait_time(state.free_log, n, window, now)
        if is_group:
            n, window = _window(config.group_per_minute, 60.0)
            logs = state.group_logs
        else:
            n, window = _window(config.private_chat_rate, 1.0)
            logs = state.chat_logs
        if n:
            log = logs.get(chat)
            if log is not None:
                wait = max(wait, _wait_time(log, n, window, now))
        return wait

    def _record_rate(self, state: _BotState, chat: str, is_group: bool, now: float) -> None:
        config = self.config
        free_window = _window(config.global_rate, 1.0)[1]
        paid_window = _window(config.paid_rate, 1.0)[1]
        free_log = state.free_log
        free_log.append(now)
        cutoff = now - free_window
        while free_log and free_log[0] <= cutoff:
            free_log.popleft()
        all_log = state.all_log
        all_log.append(now)
        cutoff = now - paid_window
        while all_log and all_log[0] <= cutoff:
            all_log.popleft()
        logs = state.group_logs if is_group else state.chat_logs
        log = logs.get(chat)
        if log is None:
            logs[chat] = deque((now,))
        else:
            log.append(now)

    @staticmethod
    def _chat_object(chat: str, number: int | None) -> dict[str, Any]:
        if number is None:  # @username of a channel / supergroup
            name = chat.lstrip("@")
            digest = int(hashlib.sha1(name.encode()).hexdigest()[:9], 16)
            return {
                "id": -(1_000_000_000_000 + digest),
                "type": "channel",
                "title": name,
                "username": name,
            }
        if number > 0:
            return {"id": number, "type": "private", "first_name": f"User {number}"}
        if chat.startswith("-100"):
            return {"id": number, "type": "supergroup", "title": f"Group {number}"}
        return {
            "id": number,
            "type": "group",
            "title": f"Group {number}",
            "all_members_are_administrators": True,
        }

    # -- bot API ---------------------------------------------------------------------------

    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        # When the request reached us, before its body is read or any simulated delay:
        # what "arrived after X" is measured against (recorded as arrival_wall_time).
        request[_ARRIVAL_KEY] = time.time()
        self._requests += 1
        self._in_flight += 1
        try:
            return await self._answer_bot(request)
        finally:
            self._in_flight -= 1

    async def _answer_bot(self, request: web.Request) -> web.StreamResponse:
        bot = self._resolve_token(request.match_info["token"])
        if bot is None:
            return _error_response(401, "Unauthorized")
        handler = self._methods.get(request.match_info["method"].lower())
        if handler is None:
            return _error_response(404, "Not Found: method not found")
        try:
            params = await self._read_params(request)
            return await handler(request, bot, params)
        except FakeApiError as exc:
            return _error_response(exc.code, exc.description, exc.parameters)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _error_response(404, "Not Found")

    async def _get_me(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        user = self._bot_user(bot)
        user.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        return _ok_response(user)

    async def _send_message(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        return await self._send(request, bot, params, "sendMessage")

    async def _send_photo(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        return await self._send(request, bot, params, "sendPhoto")

    async def _send(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any], method: str
    ) -> web.StreamResponse:
        config = self.config
        fault = self._pick_fault()
        if fault is not None:
            self._faults += 1
            if fault == "500":
                return _error_response(500, "Internal Server Error")
            if fault == "502":
                return web.Response(
                    status=502,
                    text=_BAD_GATEWAY_HTML,
                    content_type="text/html",
                )
            if fault == "drop":
                transport = request.transport
                if transport is not None:
                    transport.abort()
                raise asyncio.CancelledError
            # "timeout": answer late (normally) — the client has usually given up by then.
            await self._sleep(config.timeout_s)
            config = self.config

        chat = _chat_key(params.get("chat_id"))
        if chat is None:
            raise FakeApiError(400, "Bad Request: chat_id is empty")
        text: str | None = None
        caption: str | None = None
        photo: Any = None
        if method == "sendMessage":
            raw_text = params.get("text")
            text = "" if raw_text is None else str(raw_text)
            if not text.strip():
                raise FakeApiError(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT_LENGTH:
                raise FakeApiError(400, "Bad Request: message is too long")
        else:
            photo = params.get("photo")
            if photo is None or photo == "":
                raise FakeApiError(400, "Bad Request: there is no photo in the request")
            raw_caption = params.get("caption")
            if raw_caption is not None:
                caption = str(raw_caption)
                if len(caption) > MAX_CAPTION_LENGTH:
                    raise FakeApiError(400, "Bad Request: message caption is too long")

        if chat in config.missing:
            raise FakeApiError(400, "Bad Request: chat not found")
        migrated_to = config.migrated.get(chat)
        if migrated_to is not None:
            raise FakeApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": migrated_to},
            )
        if chat in config.blocked:
            raise FakeApiError(403, "Forbidden: bot was blocked by the user")
        if chat in config.deactivated:
            raise FakeApiError(403, "Forbidden: user is deactivated")

        number = _chat_number(chat)
        is_group = number is None or number < 0
        paid = _truthy(params.get("allow_paid_broadcast"))
        state = self._state(bot["id"])
        if config.arrival_jitter_ms > 0:
            await self._sleep(self._rng.uniform(0.0, config.arrival_jitter_ms) / 1000.0)
        now = time.monotonic()
        if config.enforce_limits:
            if now - self._last_sweep > _SWEEP_INTERVAL:
                self._sweep(now)
            wait = self._check_rate(state, chat, is_group, paid, now)
            if wait > 0:
                self._rate_limited += 1
                if config.retry_after is not None:
                    retry_after = config.retry_after
                elif config.realistic:
                    retry_after = self._rng.randint(5, 30)
                else:
                    retry_after = max(1, math.ceil(wait))
                barred_until = now + retry_after
                if barred_until > state.barred_until:
                    self._barred_s += barred_until - max(now, state.barred_until)
                    state.barred_until = barred_until
                raise FakeApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
            self._record_rate(state, chat, is_group, now)

        # Limits are counted when a request arrives, as Telegram does; a hold and the
        # configured latency then delay the answer.
        if self.config.hold_sends:
            await self._held()
        if config.latency_ms > 0:
            await self._sleep(config.latency_ms / 1000.0)
        id_key = (bot["id"], chat)
        message_id = self._message_ids.get(id_key, 0) + 1
        self._message_ids[id_key] = message_id
        wall = time.time()
        reply_markup = params.get("reply_markup")
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(bot),
            "chat": self._chat_object(chat, number),
            "date": int(wall),
        }
        photo_repr: str | None = None
        if method == "sendMessage":
            message["text"] = text
        else:
            if isinstance(photo, _Upload):
                photo_repr = f"upload:{photo.filename}"
                source = f"{photo_repr}:{photo.size}:{wall}"
            else:
                photo_repr = str(photo)
                source = photo_repr
            file_id, unique = _file_id(source)
            if photo_repr.startswith("AgACAgIAAxkBAAI"):
                file_id = photo_repr
            message["photo"] = [
                {
                    "file_id": file_id + "_s",
                    "file_unique_id": unique + "s",
                    "width": 90,
                    "height": 60,
                    "file_size": 1500,
                },
                {
                    "file_id": file_id + "_m",
                    "file_unique_id": unique + "m",
                    "width": 320,
                    "height": 213,
                    "file_size": 16000,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": 1280,
                    "height": 853,
                    "file_size": 120000,
                },
            ]
            if caption:
                message["caption"] = caption
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            message["reply_markup"] = reply_markup

        self._accepted += 1
        if self.freeze_gc_every and self._accepted % self.freeze_gc_every == 0:
            # Stored messages live long: keep them out of the cyclic GC, whose full
            # collections over them paused this server for 25+ ms and bunched the
            # arrival times that the flood limits are counted on.
            gc.freeze()
        self._messages.append(
            {
                "bot_id": bot["id"],
                "chat_id": chat,
                "method": method,
                "text": text,
                "caption": caption,
                "photo": photo_repr,
                "reply_markup": reply_markup,
                "allow_paid_broadcast": paid,
                "message_id": message_id,
                "monotonic": now,
                # wall_time and completed_wall_time: when the answer was made (after the
                # latency); arrival_wall_time: when the request reached the server.
                "wall_time": wall,
                "completed_wall_time": wall,
                "arrival_wall_time": request.get(_ARRIVAL_KEY, wall),
            }
        )
        return _ok_response(message)

    async def _get_updates(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        state = self._state(bot["id"])
        if state.webhook_url:
            raise FakeApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        try:
            offset = int(params.get("offset") or 0)
            limit = int(params.get("limit") or 100)
            timeout = float(params.get("timeout") or 0)
        except (TypeError, ValueError):
            raise FakeApiError(400, "Bad Request: invalid getUpdates parameters") from None
        limit = min(100, max(1, limit))
        updates = state.updates
        if offset > 0:
            while updates and int(updates[0].get("update_id", 0)) < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        if not updates and timeout > 0:
            state.update_event.clear()
            wait = min(timeout, self.config.max_poll_timeout_s)
            closing = self._closing
            waiters = [asyncio.ensure_future(state.update_event.wait())]
            if closing is not None:
                waiters.append(asyncio.ensure_future(closing.wait()))
            try:
                await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        result = [dict(u) for _, u in zip(range(limit), updates, strict=False)]
        return _ok_response(result)


if __name__ == "__main__":
    from hushcast.telegram.fake_cli import main

    main()

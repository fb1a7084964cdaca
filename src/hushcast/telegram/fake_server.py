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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

__all__ = [
    "FAULT_KINDS",
    "FakeTelegramConfig",
    "FakeTelegramServer",
    "main",
    "run_fake_server",
]

FAULT_KINDS = ("500", "502", "timeout", "drop")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

_TOKEN_SHAPE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,128}$")
_OBJECT_PARAMS = (
    "reply_markup",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
)
_JSON_HEADERS = {"Content-Type": "application/json"}
_SWEEP_INTERVAL = 2.0
_ARRIVAL_KEY = web.RequestKey("hushcast_fake_arrival", float)
_BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)


# --------------------------------------------------------------------------------------------
# configuration


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be a boolean")


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None
    if math.isnan(result):
        raise ValueError(f"{name} must be a number")
    return result


def _as_str_set(value: Any, name: str) -> set[str]:
    if isinstance(value, (str, int)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a list of chat ids")
    return {str(item) for item in value}


def _as_schedule(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("fault_schedule must be a list")
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError("fault_schedule entries must be objects")
        kind = str(item.get("kind", "500"))
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        try:
            after = int(item.get("after", 0))
            count = int(item.get("count", 1))
        except (TypeError, ValueError):
            raise ValueError("fault_schedule after/count must be integers") from None
        out.append({"after": after, "count": count, "kind": kind})
    return out


def _bot_info(value: Any, token: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("bot info must be an object")
    try:
        bot_id = int(value["id"])
    except (KeyError, TypeError, ValueError):
        match = _TOKEN_SHAPE.match(token)
        if not match:
            raise ValueError("bot info needs an integer id") from None
        bot_id = int(match.group(1))
    username = str(value.get("username") or f"bot{bot_id}_bot")
    first_name = str(value.get("first_name") or username)
    return {"id": bot_id, "username": username, "first_name": first_name}


def _normalize_field(name: str, value: Any) -> Any:
    if name in ("global_rate", "private_chat_rate", "group_per_minute", "paid_rate"):
        return _as_float(value, name)
    if name in (
        "latency_ms",
        "timeout_s",
        "max_poll_timeout_s",
        "arrival_jitter_ms",
        "config_latency_ms",
    ):
        result = _as_float(value, name)
        if result < 0:
            raise ValueError(f"{name} must be >= 0")
        return result
    if name == "fault_rate":
        result = _as_float(value, name)
        if not 0 <= result <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        return result
    if name in ("enforce_limits", "accept_any_token", "realistic", "hold_sends"):
        return _as_bool(value, name)
    if name == "retry_after":
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError("retry_after must be an integer or null")
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            raise ValueError("retry_after must be an integer or null") from None
    if name == "max_messages":
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            raise ValueError("max_messages must be an integer") from None
    if name == "fault_kind":
        kind = str(value)
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault_kind must be one of {FAULT_KINDS}")
        return kind
    if name == "fault_schedule":
        return _as_schedule(value)
    if name in ("blocked", "deactivated", "missing"):
        return _as_str_set(value, name)
    if name == "migrated":
        if not isinstance(value, Mapping):
            raise ValueError("migrated must be an object chat_id -> new chat id")
        try:
            return {str(k): int(v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ValueError("migrated values must be integers") from None
    if name == "tokens":
        if not isinstance(value, Mapping):
            raise ValueError("tokens must be an object token -> bot info")
        return {str(k): _bot_info(v, str(k)) for k, v in value.items()}
    raise ValueError(f"unknown config field: {name}")


@dataclass
class FakeTelegramConfig:
    """Behaviour of the fake server. Every field can be changed at run time."""

    global_rate: float = 30.0  # msgs/s per bot across chats
    private_chat_rate: float = 1.0  # msgs/s per private chat
    group_per_minute: float = 20.0  # msgs per sliding 60 s per group chat
    paid_rate: float = 1000.0  # msgs/s per bot with allow_paid_broadcast
    enforce_limits: bool = True
    retry_after: int | None = None  # fixed retry_after for every 429 (else computed, >= 1)
    latency_ms: float = 0.0  # added before answering an accepted send
    # Added before setWebhook / deleteWebhook take effect and answer (Telegram takes from
    # a fraction of a second to seconds): two changes of a bot's updates then overlap.
    config_latency_ms: float = 0.0
    # Network jitter before Telegram's clock: each send is counted up to this much later
    # than it arrived (uniformly at random), so evenly dispatched sends arrive bunched.
    arrival_jitter_ms: float = 0.0
    # Real Telegram's 429s: retry_after of 5-30 s (uniformly at random) instead of the
    # wait the window computes (unless retry_after is fixed).
    realistic: bool = False
    # While true, accepted sends are held (their arrival stamped, rate counted) and
    # answered only once it is false again: a test fills the client's connections and
    # in-flight budget deterministically, e.g. to widen a check-to-send window.
    hold_sends: bool = False
    fault_rate: float = 0.0  # probability that a send request answers a fault
    fault_kind: str = "500"  # "500", "502", "timeout", "drop"
    timeout_s: float = 30.0  # how long a "timeout" fault sleeps before answering normally
    # [{"after": n, "count": m, "kind": k}]: send requests n .. n+m-1 (0-based) answer fault k
    fault_schedule: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    deactivated: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    migrated: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    accept_any_token: bool = False
    max_poll_timeout_s: float = 1.0  # cap for getUpdates long polling
    max_messages: int = 1_000_000  # recorded messages kept (oldest dropped first)

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _normalize_field(f.name, getattr(self, f.name)))

    def update(self, changes: Mapping[str, Any]) -> None:
        """Validate then apply a partial update (all or nothing). Raises ValueError."""
        normalized = {
            str(name): _normalize_field(str(name), value) for name, value in changes.items()
        }
        for name, value in normalized.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, set):
                value = sorted(value)
            elif isinstance(value, dict):
                value = {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()}
            elif isinstance(value, list):
                value = [dict(v) for v in value]
            out[f.name] = value
        return out


# --------------------------------------------------------------------------------------------
# server state


class FakeApiError(Exception):
    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class _Upload:
    filename: str
    size: int


class _BotState:
    __slots__ = (
        "free_log",
        "all_log",
        "chat_logs",
        "group_logs",
        "webhook_url",
        "updates",
        "next_update_id",
        "update_event",
    )

    def __init__(self) -> None:
        self.free_log: deque[float] = deque()  # all accepted sends, pruned to the free window
        self.all_log: deque[float] = deque()  # all accepted sends, pruned to the paid window
        self.chat_logs: dict[str, deque[float]] = {}  # private chats
        self.group_logs: dict[str, deque[float]] = {}  # groups / channels
        self.webhook_url: str = ""
        self.updates: deque[dict[str, Any]] = deque()
        self.next_update_id = 1
        self.update_event = asyncio.Event()


def _window(rate: float, period: float) -> tuple[int, float]:
    """``rate`` events per ``period`` seconds -> (max events, window seconds). N=0: unlimited."""
    if rate <= 0:
        return 0, period
    n = max(1, math.floor(rate))
    return n, period * n / rate


def _wait_time(log: deque[float], n: int, window: float, now: float) -> float:
    """Prune ``log`` and return seconds until one more event fits (0.0 if it fits now)."""
    cutoff = now - window
    while log and log[0] <= cutoff:
        log.popleft()
    size = len(log)
    if size < n:
        return 0.0
    return log[size - n] + window - now


def _error_response(
    code: int, description: str, parameters: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    headers = dict(_JSON_HEADERS)
    if parameters:
        body["parameters"] = parameters
        if "retry_after" in parameters:
            headers["Retry-After"] = str(parameters["retry_after"])
    return web.Response(status=code, body=json.dumps(body).encode(), headers=headers)


def _ok_response(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode(), headers=_JSON_HEADERS)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), headers=_JSON_HEADERS)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or (isinstance(value, int) and value == 1)


def _chat_key(value: Any) -> str | None:
    """Normalize a chat_id parameter to the string form used for lookups; None if empty."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip()
    return key or None


def _chat_number(key: str) -> int | None:
    try:
        return int(key)
    except ValueError:
        return None


def _file_id(source: str) -> tuple[str, str]:
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()
    return "AgACAgIAAxkBAAI" + digest[:40], "AQAD" + digest[:12]


BotHandler = Callable[[web.Request, dict[str, Any], dict[str, Any]], Awaitable[web.StreamResponse]]


class FakeTelegramServer:
    """In-process fake Bot API server.

    Bot API routes: ``/bot<token>/<method>`` and ``/bot<token>/test/<method>`` (GET/POST).
    Methods: getMe, sendMessage, sendPhoto, setWebhook, deleteWebhook, getWebhookInfo, getUpdates.

    Control API (JSON):
      ``GET /_fake/messages[?chat_id=]`` list of accepted messages;
      ``DELETE /_fake/messages`` clear messages, stats, rate windows and the fault schedule counter;
      ``GET /_fake/stats`` ``{"accepted", "rate_limited", "faults", "requests", "in_flight"}``;
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
        for state in self._bots.values():
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
        router.add_get("/_fake/messages", self._ctl_messages)
        router.add_delete("/_fake/messages", self._ctl_clear)
        router.add_get("/_fake/stats", self._ctl_stats)
        router.add_get("/_fake/config", self._ctl_get_config)
        router.add_patch("/_fake/config", self._ctl_patch_config)
        router.add_post("/_fake/bots", self._ctl_bots)
        router.add_post("/_fake/updates", self._ctl_updates)
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
        site = web.TCPSite(runner, host, port)
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

    # -- control API -----------------------------------------------------------------------

    async def _ctl_messages(self, request: web.Request) -> web.StreamResponse:
        return _json(self.messages_for(request.query.get("chat_id")))

    async def _ctl_clear(self, request: web.Request) -> web.StreamResponse:
        self.clear()
        return _json({"ok": True})

    async def _ctl_stats(self, request: web.Request) -> web.StreamResponse:
        return _json(self.stats)

    async def _ctl_get_config(self, request: web.Request) -> web.StreamResponse:
        return _json(self.config.to_dict())

    async def _read_json_object(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"ok": false, "description": "invalid JSON"}') from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"ok": false, "description": "JSON object expected"}')
        return data

    async def _ctl_patch_config(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        try:
            self._apply_config(data)
        except ValueError as exc:
            return _json({"ok": False, "description": str(exc)}, status=400)
        return _json(self.config.to_dict())

    async def _ctl_bots(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            return _json({"ok": False, "description": "token is required"}, status=400)
        try:
            info = _bot_info(data, token)
        except ValueError as exc:
            return _json({"ok": False, "description": str(exc)}, status=400)
        self.config.tokens[token] = info
        return _json({"ok": True, "bot": info})

    async def _ctl_updates(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        token = data.get("token")
        update = data.get("update")
        if not isinstance(token, str) or not isinstance(update, dict):
            return _json({"ok": False, "description": "token and update are required"}, status=400)
        try:
            stored = self.inject_update(token, update)
        except KeyError:
            return _json({"ok": False, "description": "unknown bot token"}, status=404)
        except (TypeError, ValueError):
            return _json({"ok": False, "description": "update_id must be an integer"}, status=400)
        return _json({"ok": True, "update": stored})


# --------------------------------------------------------------------------------------------
# runners


def run_fake_server(
    host: str = "127.0.0.1", port: int = 8081, config: FakeTelegramConfig | None = None
) -> None:
    """Serve the fake Bot API until interrupted (blocking). Uses uvloop when installed."""
    server = FakeTelegramServer(config)
    server.freeze_gc_every = 5000

    async def serve() -> None:
        url = await server.start(host, port)
        gc.freeze()  # start-up objects: never garbage, never scanned again
        print(
            f"Fake Telegram Bot API listening on {url}  (control API: {url}/_fake/stats)",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is optional
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve())


def _parse_bot(value: str) -> tuple[str, str | None]:
    token, _, username = value.partition("=")
    if not _TOKEN_SHAPE.match(token):
        raise argparse.ArgumentTypeError("bot token must look like <digits>:<secret>")
    return token, username or None


CONTROL_API_HELP = """\
Bot API: /bot<TOKEN>/<method> (and /bot<TOKEN>/test/<method>), GET or POST, JSON or form:
  getMe, sendMessage, sendPhoto, getUpdates, setWebhook, deleteWebhook, getWebhookInfo.

Control API (JSON), for your tests:
  GET    /_fake/messages[?chat_id=ID]   messages accepted, oldest first
  DELETE /_fake/messages                forget messages, counters and rate windows
  GET    /_fake/stats                   {"accepted", "rate_limited", "faults", "requests", "in_flight"}
  GET    /_fake/config                  the configuration below, as JSON
  PATCH  /_fake/config                  change part of it, e.g. {"fault_rate": 0.1},
                                        {"blocked": ["42"]} (403 for chat 42), "deactivated",
                                        "missing" (400 chat not found), "migrated",
                                        "fault_schedule": [{"after": 10, "count": 3, "kind": "502"}]
  POST   /_fake/bots                    {"token", "id", "username", "first_name"?}: a bot
  POST   /_fake/updates                 {"token", "update": {...}}: queue an update for getUpdates
                                        (or push it to the webhook set with setWebhook)
  POST   /_fake/users/{chat_id}/start   a user: {"payload"?} /start; also /send {"text"},
                                        /block, /unblock, /callback {"data"}; add "token"
                                        when the fake knows several bots
"""


def build_arg_parser(
    prog: str = "python -m hushcast.telegram.fake_server",
) -> argparse.ArgumentParser:
    """``hushcast fake-telegram`` and ``python -m hushcast.telegram.fake_server``: one parser,
    so both have the same options and defaults."""
    defaults = FakeTelegramConfig()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fake Telegram Bot API server with Telegram's flood limits and fault "
        "injection, for tests, demos and your own CI (docs/fake-telegram.md).",
        epilog=CONTROL_API_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (%(default)s)")
    parser.add_argument(
        "--global-rate",
        type=float,
        default=defaults.global_rate,
        help="messages/s per bot, all chats (%(default)s)",
    )
    parser.add_argument(
        "--private-chat-rate",
        type=float,
        default=defaults.private_chat_rate,
        help="messages/s to one private chat (%(default)s)",
    )
    parser.add_argument(
        "--group-per-minute",
        type=float,
        default=defaults.group_per_minute,
        help="messages per minute to one group or channel (%(default)s)",
    )
    parser.add_argument(
        "--paid-rate",
        type=float,
        default=defaults.paid_rate,
        help="messages/s per bot with allow_paid_broadcast (%(default)s)",
    )
    parser.add_argument("--no-limits", action="store_true", help="disable the flood limits")
    parser.add_argument(
        "--retry-after", type=int, default=None, help="fixed retry_after (s) of every 429"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added before answering a send (0)"
    )
    parser.add_argument(
        "--arrival-jitter-ms", type=float, default=0.0, help="sends counted up to this late (0)"
    )
    parser.add_argument(
        "--realistic", action="store_true", help="429s answer retry_after of 5-30 s"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of sends (0..1) that answer a fault instead (0)",
    )
    parser.add_argument(
        "--fault-kind",
        choices=FAULT_KINDS,
        default="500",
        help="the fault: HTTP 500, 502, a timeout or a dropped connection (%(default)s)",
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=defaults.timeout_s,
        help="how long a timeout fault waits (%(default)s)",
    )
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--accept-any-token",
        dest="accept_any_token",
        action="store_true",
        default=True,
        help="accept any <digits>:<secret> bot token, as its own bot (the default)",
    )
    tokens.add_argument(
        "--strict-tokens",
        dest="accept_any_token",
        action="store_false",
        help="only bots given with --bot or POST /_fake/bots; others get 401",
    )
    parser.add_argument(
        "--bot",
        action="append",
        type=_parse_bot,
        default=[],
        metavar="TOKEN[=USERNAME]",
        help="register a bot (repeatable)",
    )
    for action in parser._actions:  # "--latency-ms N", not "--latency-ms LATENCY_MS"
        if action.type in (int, float) and action.dest != "port":
            action.metavar = "N"
    return parser


def config_from_args(args: argparse.Namespace) -> FakeTelegramConfig:
    tokens: dict[str, dict[str, Any]] = {}
    for token, username in args.bot:
        tokens[token] = {"id": int(token.split(":", 1)[0]), "username": username}
    return FakeTelegramConfig(
        global_rate=args.global_rate,
        private_chat_rate=args.private_chat_rate,
        group_per_minute=args.group_per_minute,
        paid_rate=args.paid_rate,
        enforce_limits=not args.no_limits,
        retry_after=args.retry_after,
        latency_ms=args.latency_ms,
        arrival_jitter_ms=args.arrival_jitter_ms,
        realistic=args.realistic,
        fault_rate=args.fault_rate,
        fault_kind=args.fault_kind,
        timeout_s=args.timeout_s,
        accept_any_token=args.accept_any_token,
        tokens=tokens,
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = build_arg_parser(prog) if prog else build_arg_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    try:
        run_fake_server(args.host, args.port, config)
    except OSError as exc:
        # A busy port: one line, not a traceback.
        raise SystemExit(
            f"error: the fake Telegram server cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}"
        ) from None


if __name__ == "__main__":
    main()

"""The fake Telegram server's wire helpers: the Bot API's answers (``{"ok": true,
"result"}``, errors with their ``parameters`` and ``Retry-After``), :class:`FakeApiError`,
chat id and file id helpers, and a bot's state with the sliding-window logs its flood
limits are counted on (``_window``, ``_wait_time``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

_JSON_HEADERS = {"Content-Type": "application/json"}


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
        "barred_until",
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
        # The end of the latest 429's retry_after (monotonic): the bot is barred until then.
        self.barred_until = 0.0


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

"""Small Telegram Bot API client used by the rest of Hushcast.

Only the handful of methods Hushcast needs: ``getMe``, ``sendMessage`` and ``sendPhoto``.
Send methods never raise for Telegram or transport errors: they return a :class:`SendResult`
that the delivery layer classifies (retryable, chat gone, migrated...).

The bot token is a secret and it is part of every request URL, so it never appears in
exception messages or in ``SendResult`` fields produced here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

__all__ = [
    "BotInfo",
    "HttpTelegramClient",
    "InvalidBotToken",
    "SendResult",
    "TelegramClient",
    "TelegramUnavailable",
    "build_inline_keyboard",
    "redact_token",
]

DEFAULT_BASE_URL = "https://api.telegram.org"

# 403 descriptions meaning "this chat will never accept our messages again" (until the user acts).
_CHAT_GONE_MARKERS = (
    "bot was blocked by the user",
    "user is deactivated",
    "bot was kicked from",  # ... the group chat / supergroup chat / channel chat
    "the group chat was deleted",
    "bot is not a member of the",  # ... group chat / supergroup chat / channel chat
    "bot can't initiate conversation with a user",
)

_TOKEN_IN_TEXT = re.compile(r"\d+:[A-Za-z0-9_-]{5,}")


def redact_token(text: str, token: str | None = None) -> str:
    """Remove a bot token (the given one, or anything token-shaped) from ``text``."""
    if token:
        text = text.replace(token, "<redacted>")
        quoted = quote(token, safe="")
        if quoted != token:
            text = text.replace(quoted, "<redacted>")
    return _TOKEN_IN_TEXT.sub("<redacted>", text)


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send call."""

    ok: bool
    message_id: int | None = None
    error_code: int | None = None  # Telegram error_code / HTTP status; None for transport errors
    description: str | None = None  # Telegram's own description text, verbatim
    retry_after: int | None = None  # parameters.retry_after (or the Retry-After header)
    migrate_to_chat_id: int | None = None
    transport_error: str | None = None  # timeouts / connection errors / non-JSON 5xx

    @property
    def is_retryable(self) -> bool:
        """Transport error, 5xx or 429: the same request may succeed later."""
        if self.ok:
            return False
        if self.transport_error is not None:
            return True
        code = self.error_code
        return code is not None and (code == 429 or code >= 500)

    @property
    def is_rate_limited(self) -> bool:
        return not self.ok and self.error_code == 429

    @property
    def is_chat_gone(self) -> bool:
        """403 meaning the recipient blocked the bot, was deleted, or the bot was removed."""
        if self.ok or self.error_code != 403 or not self.description:
            return False
        text = self.description.lower()
        return any(marker in text for marker in _CHAT_GONE_MARKERS)

    @property
    def is_migrated(self) -> bool:
        return not self.ok and self.migrate_to_chat_id is not None


@dataclass(frozen=True)
class BotInfo:
    id: int
    username: str
    first_name: str


class InvalidBotToken(Exception):
    """Telegram rejected the bot token (HTTP 401 or 404)."""


class TelegramUnavailable(Exception):
    """Telegram could not be reached or answered with a server error."""


class TelegramClient(Protocol):
    """What the rest of Hushcast depends on."""

    async def get_me(self, bot_token: str) -> BotInfo: ...

    async def send_message(
        self,
        bot_token: str,
        chat_id: str,
        text: str,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult: ...

    async def send_photo(
        self,
        bot_token: str,
        chat_id: str,
        photo: str,
        caption: str | None,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult: ...

    async def close(self) -> None: ...


def build_inline_keyboard(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    """``[{"text", "url"}, ...]`` -> ``{"inline_keyboard": [[btn], [btn], ...]}`` (one per row)."""
    return {"inline_keyboard": [[dict(button)] for button in buttons]}


@dataclass(frozen=True)
class _RawResponse:
    status: int
    body: dict[str, Any] | None
    retry_after_header: int | None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float):
        return int(value)
    return None


@functools.lru_cache(maxsize=1024)
def _method_url(base_url: str, bot_token: str, method: str) -> str:
    # Built once per bot and method: quoting the token was 3 % of a send's CPU.
    return f"{base_url}/bot{quote(bot_token, safe=':')}/{method}"


class HttpTelegramClient:
    """:class:`TelegramClient` over HTTP with one shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_connections: int = 512,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    # -- session ---------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.closed or self._session_loop is not loop:
            # A session is bound to the loop it was created in; a new loop needs a new one.
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                keepalive_timeout=60.0,
                enable_cleanup_closed=False,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                raise_for_status=False,
            )
            self._session = session
            self._session_loop = loop
        return session

    async def close(self) -> None:
        session = self._session
        self._session = None
        self._session_loop = None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> HttpTelegramClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- transport -------------------------------------------------------------------------

    def _url(self, bot_token: str, method: str) -> str:
        return _method_url(self.base_url, bot_token, method)

    async def _post(self, bot_token: str, method: str, payload: dict[str, Any]) -> _RawResponse:
        """POST a JSON body; transport errors raise aiohttp.ClientError / asyncio.TimeoutError."""
        session = self._get_session()
        async with session.post(self._url(bot_token, method), json=payload) as resp:
            raw = await resp.read()
            header = _int_or_none(resp.headers.get("Retry-After"))
            status = resp.status
        body: dict[str, Any] | None
        try:
            # Decoded first: json.loads on bytes guesses the encoding in Python
            # (detect_encoding, 1.6 % of the worker's CPU); Telegram answers UTF-8, and
            # anything else is a non-JSON answer like any other.
            decoded = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            decoded = None
        body = decoded if isinstance(decoded, dict) and "ok" in decoded else None
        return _RawResponse(status=status, body=body, retry_after_header=header)

    @staticmethod
    def _transport_error(exc: BaseException, bot_token: str) -> str:
        if isinstance(exc, asyncio.TimeoutError):
            return "timeout"
        name = type(exc).__name__
        # aiohttp messages may embed the request URL (and so the token): keep only safe ones.
        if isinstance(exc, aiohttp.ClientConnectorError):
            try:
                return f"{name}: cannot connect to {exc.host}:{exc.port}"
            except Exception:  # pragma: no cover - defensive
                return name
        detail = (
            redact_token(str(exc), bot_token)
            if isinstance(exc, aiohttp.ServerDisconnectedError)
            else ""
        )
        return f"{name}: {detail}" if detail else name

    async def _send(self, bot_token: str, method: str, payload: dict[str, Any]) -> SendResult:
        try:
            raw = await self._post(bot_token, method, payload)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult(ok=False, transport_error=self._transport_error(exc, bot_token))
        return self._to_result(raw)

    @staticmethod
    def _to_result(raw: _RawResponse) -> SendResult:
        body = raw.body
        status = raw.status
        if body is None:
            if status >= 500 or status == 429 or status < 400:
                return SendResult(
                    ok=False,
                    error_code=status if status >= 400 else None,
                    retry_after=raw.retry_after_header if status == 429 else None,
                    transport_error=f"non-JSON response (HTTP {status})",
                )
            return SendResult(ok=False, error_code=status)
        if body.get("ok") is True and 200 <= status < 300:
            result = body.get("result")
            message_id = (
                _int_or_none(result.get("message_id")) if isinstance(result, dict) else None
            )
            return SendResult(ok=True, message_id=message_id)
        error_code = _int_or_none(body.get("error_code"))
        if error_code is None:
            error_code = status if status >= 400 else None
        description = body.get("description")
        params = body.get("parameters")
        retry_after = migrate_to = None
        if isinstance(params, dict):
            retry_after = _int_or_none(params.get("retry_after"))
            migrate_to = _int_or_none(params.get("migrate_to_chat_id"))
        if retry_after is None and (error_code == 429 or status == 429):
            retry_after = raw.retry_after_header
        return SendResult(
            ok=False,
            error_code=error_code,
            description=description if isinstance(description, str) else None,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to,
        )

    # -- API -------------------------------------------------------------------------------

    async def get_me(self, bot_token: str) -> BotInfo:
        """Return the bot's identity; InvalidBotToken on 401/404, TelegramUnavailable otherwise."""
        if not bot_token or any(ch.isspace() or ch == "/" for ch in bot_token):
            raise InvalidBotToken("malformed bot token")
        try:
            raw = await self._post(bot_token, "getMe", {})
        except TimeoutError:
            raise TelegramUnavailable("timed out talking to Telegram") from None
        except aiohttp.ClientError as exc:
            raise TelegramUnavailable(
                f"cannot reach Telegram ({self._transport_error(exc, bot_token)})"
            ) from None
        body = raw.body
        code = raw.status
        if body is not None and not body.get("ok"):
            code = _int_or_none(body.get("error_code")) or raw.status
        if code in (401, 404):
            raise InvalidBotToken(f"Telegram rejected the bot token (HTTP {code})")
        if body is None or body.get("ok") is not True or not isinstance(body.get("result"), dict):
            raise TelegramUnavailable(f"unexpected answer from Telegram (HTTP {raw.status})")
        result = body["result"]
        bot_id = _int_or_none(result.get("id"))
        if bot_id is None:
            raise TelegramUnavailable("unexpected getMe result from Telegram")
        return BotInfo(
            id=bot_id,
            username=str(result.get("username") or ""),
            first_name=str(result.get("first_name") or ""),
        )

    async def send_message(
        self,
        bot_token: str,
        chat_id: str,
        text: str,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if buttons:
            payload["reply_markup"] = build_inline_keyboard(buttons)
        if allow_paid_broadcast:
            payload["allow_paid_broadcast"] = True
        return await self._send(bot_token, "sendMessage", payload)

    async def send_photo(
        self,
        bot_token: str,
        chat_id: str,
        photo: str,
        caption: str | None,
        *,
        buttons: list[dict[str, Any]] | None = None,
        allow_paid_broadcast: bool = False,
    ) -> SendResult:
        payload: dict[str, Any] = {"chat_id": chat_id, "photo": photo}
        if caption:
            payload["caption"] = caption
        if buttons:
            payload["reply_markup"] = build_inline_keyboard(buttons)
        if allow_paid_broadcast:
            payload["allow_paid_broadcast"] = True
        return await self._send(bot_token, "sendPhoto", payload)

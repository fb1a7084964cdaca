"""The Bot API calls of updates: setWebhook, deleteWebhook, getUpdates.

Kept here rather than on ``telegram.client.TelegramClient`` (whose interface the sender
uses): these are rare calls with their own answers.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

from hushcast.telegram.client import redact_token
from hushcast.updates.decide import ALLOWED_UPDATES


class BotApiError(Exception):
    """Telegram refused the call or could not be reached; the message is safe to show."""


async def call(
    session: aiohttp.ClientSession,
    base_url: str,
    bot_token: str,
    method: str,
    payload: dict[str, Any],
    timeout: float,
) -> Any:
    url = f"{base_url.rstrip('/')}/bot{quote(bot_token, safe=':')}/{method}"
    try:
        async with session.post(
            url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp:
            raw = await resp.read()
    except TimeoutError:
        raise BotApiError(f"{method}: Telegram did not answer in time") from None
    except aiohttp.ClientError as exc:
        raise BotApiError(
            f"{method}: Telegram unreachable ({redact_token(type(exc).__name__, bot_token)})"
        ) from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or body.get("ok") is not True:
        description = body.get("description") if isinstance(body, dict) else None
        raise BotApiError(f"{method}: {redact_token(str(description or 'no answer'), bot_token)}")
    return body.get("result")


async def set_webhook(
    session: aiohttp.ClientSession, base_url: str, bot_token: str, url: str, secret: str
) -> None:
    payload = {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
    await call(session, base_url, bot_token, "setWebhook", payload, 30.0)


async def delete_webhook(session: aiohttp.ClientSession, base_url: str, bot_token: str) -> None:
    await call(session, base_url, bot_token, "deleteWebhook", {}, 30.0)


async def get_updates(
    session: aiohttp.ClientSession,
    base_url: str,
    bot_token: str,
    offset: int | None,
    timeout: float,
) -> list[tuple[int, str]]:
    """(update_id, the update's JSON text) in Telegram's order."""
    payload: dict[str, Any] = {"timeout": int(timeout), "allowed_updates": ALLOWED_UPDATES}
    if offset is not None:
        payload["offset"] = offset
    result = await call(session, base_url, bot_token, "getUpdates", payload, timeout + 10)
    out: list[tuple[int, str]] = []
    for item in result if isinstance(result, list) else []:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if isinstance(update_id, int) and not isinstance(update_id, bool) and update_id >= 0:
            # Re-encoded: getUpdates returns the updates inside one array, not one body each.
            out.append((update_id, json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
    return out


async def configure(base_url: str, bot_token: str, mode: str, url: str, secret: str | None) -> None:
    """Points Telegram at the new mode: the webhook, or none (polling and off)."""
    async with aiohttp.ClientSession() as session:
        if mode == "webhook":
            assert secret is not None
            await set_webhook(session, base_url, bot_token, url, secret)
        else:
            await delete_webhook(session, base_url, bot_token)


__all__ = ["BotApiError", "call", "configure", "delete_webhook", "get_updates"]

"""Webhook intake: Telegram's call is checked and stored, nothing else (the worker applies
it). Never commits."""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import ApiError, BadRequest
from hushcast.core.timeutil import utcnow
from hushcast.updates import repository as repo

FORBIDDEN = "Wrong secret token"


class Unauthorized(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail)


def parse_update(raw: bytes) -> tuple[int, str]:
    """The update_id and the text of a webhook body; BadRequest for anything that is no
    update (Telegram sends UTF-8 JSON)."""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except ValueError:  # UnicodeDecodeError too
        raise BadRequest("The body is not UTF-8 JSON") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise BadRequest("update_id must be a non-negative integer")
    if update_id > 2**63 - 1:
        raise BadRequest("update_id is out of range")
    return update_id, text


def check_webhook_secret(target: Any, given: str | None) -> int:
    """The app id when ``given`` is its current webhook secret; Unauthorized otherwise (an
    unknown app, updates not in webhook mode and a wrong secret look the same)."""
    expected = target.webhook_secret if target is not None else None
    if (
        target is None
        or target.mode != "webhook"
        or not expected
        or given is None
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise Unauthorized(FORBIDDEN)
    return int(target.id)


def update_row(
    app_id: int, update_id: int, payload: str, relay: bool, now: datetime
) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "update_id": update_id,
        "payload": payload,
        "received_at": now,
        "processed_at": None,
        "relay_state": "pending" if relay else "none",
        "relay_attempts": 0,
        "relay_next_at": None,
    }


def accept_webhook(conn: Connection, app_uuid: str, secret: str | None, raw: bytes) -> bool:
    """Stores one update from the webhook; False when its update_id was taken already."""
    app_id = check_webhook_secret(repo.webhook_target(conn, app_uuid), secret)
    update_id, text = parse_update(raw)
    settings = repo.get_settings(conn, app_id)
    relay = bool(settings is not None and settings.relay_url)
    row = update_row(app_id, update_id, text, relay, utcnow())
    return repo.store_updates(conn, [row]) == 1

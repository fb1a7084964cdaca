"""Bot apps: connect by BotFather token, list, update, delete. Never commits."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import Connection

from hushcast.bots import repository as repo
from hushcast.bots.schemas import AppOut, AppUpdate
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.timeutil import iso, utcnow
from hushcast.telegram.client import BotInfo, InvalidBotToken, TelegramUnavailable
from hushcast.webhooks import outbox as webhook_outbox

BOT_TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$")

WRONG_APP_UUID = "Wrong app uuid"
INVALID_BOT_TOKEN = "Invalid bot token"
NOT_REGISTERED = "Not registered application"


def looks_like_bot_token(token: str) -> bool:
    return bool(BOT_TOKEN_RE.match(token))


async def check_bot_token(telegram: Any, raw_token: str) -> tuple[str, BotInfo]:
    """The stripped token and its bot (Telegram's getMe), or the API's errors: 400 for a
    malformed or unknown token, 502 when Telegram cannot be reached."""
    token = raw_token.strip()
    if not looks_like_bot_token(token):
        raise BadRequest(INVALID_BOT_TOKEN)
    try:
        bot = await telegram.get_me(token)
    except InvalidBotToken:
        raise BadRequest(INVALID_BOT_TOKEN) from None
    except TelegramUnavailable as exc:
        raise ApiError(502, f"Telegram Bot API unreachable: {exc}") from None
    return token, bot


def parse_app_uuid(app_uuid: str) -> str:
    try:
        return str(uuid.UUID(app_uuid))
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(WRONG_APP_UUID) from None


def resolve_app(conn: Connection, org_id: int, app_uuid: str) -> Any:
    """The caller's app, or the exact Yespo errors: another organisation's app is unknown."""
    canonical = parse_app_uuid(app_uuid)
    row = repo.get_by_uuid(conn, org_id, canonical)
    if row is None:
        raise NotFound(NOT_REGISTERED)
    return row


def to_out(row: Any, subscribers: int | None = None, muted: int | None = None) -> AppOut:
    return AppOut(
        appUuid=row.uuid,
        botId=row.bot_id,
        botUsername=row.bot_username,
        name=row.name,
        paidBroadcast=bool(row.paid_broadcast),
        messagesPerSecond=row.messages_per_second,
        privateChatPerSecond=row.private_chat_per_second,
        groupPerMinute=row.group_per_minute,
        paidMessagesPerSecond=row.paid_messages_per_second,
        subscribers=subscribers,
        mutedNow=muted,
        createdAt=iso(row.created_at),
    )


def connect_bot(
    conn: Connection, org_id: int, bot_token: str, bot: BotInfo, name: str | None
) -> tuple[AppOut, bool]:
    """Stores the bot for the organisation; returns (app, created)."""
    existing = repo.get_by_bot(conn, org_id, bot.id)
    if existing is not None:
        values: dict[str, Any] = {}
        if existing.bot_token != bot_token:
            # The token was regenerated in @BotFather: keep the app, use the new token.
            values["bot_token"] = bot_token
        if existing.bot_username != bot.username:
            values["bot_username"] = bot.username
        if values:
            repo.update_app(conn, existing.id, values)
        return _counted(conn, repo.get_by_id(conn, existing.id)), False
    app_id = repo.insert_app(
        conn,
        {
            "uuid": str(uuid.uuid4()),
            "organization_id": org_id,
            "bot_token": bot_token,
            "bot_id": bot.id,
            "bot_username": bot.username,
            "name": name or bot.first_name or bot.username,
            "paid_broadcast": False,
            "messages_per_second": 30.0,
            "private_chat_per_second": 1.0,
            "group_per_minute": 20.0,
            "paid_messages_per_second": 1000.0,
            "created_at": utcnow(),
        },
    )
    # Every answer about a bot has the same fields: a new one has 0 subscribers, not null.
    return to_out(repo.get_by_id(conn, app_id), 0, 0), True


def list_apps(conn: Connection, org_id: int) -> list[AppOut]:
    rows = repo.list_for_org(conn, org_id)
    ids = [int(r.id) for r in rows]
    subs = repo.subscriber_counts(conn, ids)
    muted = repo.muted_counts(conn, ids, utcnow())
    return [to_out(r, subs.get(int(r.id), 0), muted.get(int(r.id), 0)) for r in rows]


def get_app(conn: Connection, org_id: int, app_uuid: str) -> AppOut:
    return _counted(conn, resolve_app(conn, org_id, app_uuid))


def _counted(conn: Connection, row: Any) -> AppOut:
    subs = repo.subscriber_counts(conn, [row.id])
    muted = repo.muted_counts(conn, [row.id], utcnow())
    return to_out(row, subs.get(row.id, 0), muted.get(row.id, 0))


def update_app(conn: Connection, org_id: int, app_uuid: str, change: AppUpdate) -> AppOut:
    row = resolve_app(conn, org_id, app_uuid)
    mapping = {
        "name": "name",
        "paidBroadcast": "paid_broadcast",
        "messagesPerSecond": "messages_per_second",
        "privateChatPerSecond": "private_chat_per_second",
        "groupPerMinute": "group_per_minute",
        "paidMessagesPerSecond": "paid_messages_per_second",
    }
    values = {
        mapping[k]: v for k, v in change.model_dump(exclude_unset=True).items() if v is not None
    }
    if not values:
        raise ApiError(400, "Nothing to update")
    repo.update_app(conn, row.id, values)
    return get_app(conn, org_id, app_uuid)


def delete_app(conn: Connection, org_id: int, app_uuid: str) -> None:
    row = resolve_app(conn, org_id, app_uuid)
    # Its delivery rows go with it: delivery events still to be sent get their bodies.
    webhook_outbox.materialize_delivery_events(conn, app_id=int(row.id))
    repo.delete_app(conn, row.id)

"""What disconnecting a bot means for its updates: Telegram stops calling a webhook
that no longer answers. Never commits."""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from hushcast.bots import service as bots_service
from hushcast.updates import botapi
from hushcast.updates import repository as repo

log = logging.getLogger("hushcast.updates")


def delete_app(conn: Connection, org_id: int, app_uuid: str) -> str | None:
    """Deletes the bot (bots.service.delete_app) and returns its token when Telegram
    still has a webhook of ours for it, to be removed once the deletion is committed."""
    app = bots_service.resolve_app(conn, org_id, app_uuid)
    settings = repo.get_settings(conn, int(app.id))
    bots_service.delete_app(conn, org_id, app.uuid)
    return str(app.bot_token) if settings is not None and settings.mode == "webhook" else None


async def forget_webhook(telegram_api_url: str, bot_token: str | None) -> None:
    """deleteWebhook for a disconnected bot; a failure is logged, not raised: the bot is
    gone either way, and our endpoint answers 401 to whatever Telegram still sends."""
    if bot_token is None:
        return
    try:
        await botapi.configure(telegram_api_url, bot_token, "off", "", None)
    except botapi.BotApiError as exc:
        log.warning("deleteWebhook for a disconnected bot failed: %s", exc)

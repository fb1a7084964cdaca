"""Update settings: what PUT /v1/apps/{uuid}/updates stores and GET returns. Never commits."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.bots.service import resolve_app
from hushcast.core.errors import ApiError, BadRequest, NotFound, check_id
from hushcast.core.timeutil import iso, utcnow
from hushcast.sending.service import require_message
from hushcast.updates import repository as repo
from hushcast.updates.schemas import DialogGuardOut, RelayStatsOut, UpdatesIn, UpdatesOut
from hushcast.webhooks.config import get_webhook_settings
from hushcast.webhooks.service import checked_url

WEBHOOK_PATH = "/telegram/webhook/"
WELCOME_NOT_FOUND = "welcomeMessageId: message not found"
DEFAULT_GUARD_SECONDS = 1800
CHANGE_IN_PROGRESS = (
    "another change of this bot's update settings is in progress; try again when it has finished"
)
# Longer than a change can take (Telegram's answer to setWebhook, with the client's
# timeout): a process that died half-way leaves the bot locked no longer than this.
CONFIG_LOCK_S = 60


def webhook_url(public_url: str, app_uuid: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH + app_uuid


def new_values(current: Any, body: UpdatesIn, now: datetime) -> dict[str, Any]:
    """The stored row after a PUT: fields left out keep their value."""
    values: dict[str, Any] = {"mode": body.mode, "updated_at": now}
    fields = body.model_fields_set
    if "relayUrl" in fields:
        if body.relayUrl:
            values["relay_url"] = checked_url(body.relayUrl, get_webhook_settings())
        else:
            values["relay_url"] = None
    if "relaySecret" in fields:
        values["relay_secret"] = body.relaySecret
    if body.dialogGuard is not None:
        values["dialog_guard"] = body.dialogGuard.enabled
        values["dialog_guard_seconds"] = body.dialogGuard.muteSeconds
    if body.registerGroups is not None:
        values["register_groups"] = body.registerGroups
    if "welcomeMessageId" in fields:
        values["welcome_message_id"] = body.welcomeMessageId
    if current is None:
        values.setdefault("relay_url", None)
        values.setdefault("relay_secret", None)
        values.setdefault("dialog_guard", False)
        values.setdefault("dialog_guard_seconds", DEFAULT_GUARD_SECONDS)
        values.setdefault("register_groups", False)
        values.setdefault("welcome_message_id", None)
        values.update(relay_delivered=0, relay_failures=0)
    # A new secret each time the webhook is set: an old one stops working at once.
    values["webhook_secret"] = secrets.token_urlsafe(32) if body.mode == "webhook" else None
    return values


def begin_change(
    conn: Connection, org_id: int, app_uuid: str, body: UpdatesIn, owner: str
) -> tuple[Any, dict[str, Any]]:
    """Checks a PUT and takes the bot's update-settings lock for ``owner``: the caller's
    app and the row the PUT will store (with a new webhook secret), before Telegram is
    told. 409 while another change of the bot is in progress: Telegram is told first and
    the row stored after, so two changes at once could leave Telegram with one webhook
    secret and the row with the other (every update then refused as unauthorised)."""
    app = resolve_app(conn, org_id, app_uuid)
    welcome = body.welcomeMessageId
    if welcome is not None:
        # Only a message of the caller's organisation.
        try:
            require_message(conn, org_id, check_id(welcome, WELCOME_NOT_FOUND))
        except NotFound:
            raise BadRequest(WELCOME_NOT_FOUND) from None
    now = utcnow()
    until = now + timedelta(seconds=CONFIG_LOCK_S)
    if not repo.lock_config(conn, int(app.id), owner, now, until):
        raise ApiError(409, CHANGE_IN_PROGRESS)
    # Read under the lock: a change that finished just before is built upon.
    return app, new_values(repo.get_settings(conn, int(app.id)), body, now)


def abandon_change(conn: Connection, app_id: int, owner: str) -> None:
    """Telegram refused (or the request failed): nothing stored, the bot is free again."""
    repo.unlock_config(conn, app_id, owner)


def store_settings(
    conn: Connection,
    org_id: int,
    app_uuid: str,
    values: dict[str, Any],
    public_url: str,
    owner: str,
) -> UpdatesOut:
    app = resolve_app(conn, org_id, app_uuid)
    app_id = int(app.id)
    if "relay_url" in values and values["relay_url"] is None:
        repo.cancel_relay(conn, app_id)
    repo.upsert_settings(conn, app_id, values)
    repo.unlock_config(conn, app_id, owner)
    return to_out(conn, app_id, app.uuid, public_url)


def to_out(conn: Connection, app_id: int, app_uuid: str, public_url: str) -> UpdatesOut:
    row = repo.get_settings(conn, app_id)
    if row is None:
        return UpdatesOut(
            mode="off",
            relayUrl=None,
            relaySecretSet=False,
            dialogGuard=DialogGuardOut(enabled=False, muteSeconds=DEFAULT_GUARD_SECONDS),
            registerGroups=False,
            welcomeMessageId=None,
            webhookUrl=None,
            relay=RelayStatsOut(
                delivered=0, pending=0, failures=0, lastError=None, lastErrorAt=None
            ),
        )
    return UpdatesOut(
        mode=row.mode,
        relayUrl=row.relay_url,
        relaySecretSet=bool(row.relay_secret),
        dialogGuard=DialogGuardOut(
            enabled=bool(row.dialog_guard), muteSeconds=int(row.dialog_guard_seconds)
        ),
        registerGroups=bool(row.register_groups),
        welcomeMessageId=row.welcome_message_id,
        webhookUrl=webhook_url(public_url, app_uuid) if row.mode == "webhook" else None,
        relay=RelayStatsOut(
            delivered=int(row.relay_delivered),
            pending=repo.count_pending_relay(conn, app_id),
            failures=int(row.relay_failures),
            lastError=row.relay_last_error,
            lastErrorAt=iso(row.relay_last_error_at),
        ),
    )

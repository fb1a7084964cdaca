"""Bot updates: settings, intake (store first) and what an update does. Never commits."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.bots.service import resolve_app
from hushcast.contacts import repository as contacts_repo
from hushcast.contacts.service import TokenItem, register_tokens
from hushcast.core.errors import MAX_ID, ApiError, BadRequest, NotFound, check_id
from hushcast.core.timeutil import iso, utcnow
from hushcast.delivery import status as st
from hushcast.mute import actors
from hushcast.mute import repository as mute_repo
from hushcast.mute import service as mute_service
from hushcast.sending.repository import message_exists
from hushcast.sending.service import Target, queue, require_message
from hushcast.updates import decide, links
from hushcast.updates import repository as repo
from hushcast.updates.decide import Effect
from hushcast.updates.schemas import (
    DialogGuardOut,
    LinkIn,
    LinkOut,
    RelayStatsOut,
    UpdatesIn,
    UpdatesOut,
)
from hushcast.webhooks.config import get_webhook_settings
from hushcast.webhooks.service import checked_url

log = logging.getLogger("hushcast.updates")

WEBHOOK_PATH = "/telegram/webhook/"
FORBIDDEN = "Wrong secret token"
CONTACT_NOT_FOUND = "Contact not found"
WELCOME_NOT_FOUND = "welcomeMessageId: message not found"
DEFAULT_GUARD_SECONDS = 1800


class Unauthorized(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail)


# -- settings ---------------------------------------------------------------------------------


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


def prepare_settings(
    conn: Connection, org_id: int, app_uuid: str, body: UpdatesIn
) -> tuple[Any, dict[str, Any]]:
    """The caller's app and the row a PUT will store (checked, with a new webhook secret),
    before Telegram is told."""
    app = resolve_app(conn, org_id, app_uuid)
    welcome = body.welcomeMessageId
    if welcome is not None:
        # Only a message of the caller's organisation.
        try:
            require_message(conn, org_id, check_id(welcome, WELCOME_NOT_FOUND))
        except NotFound:
            raise BadRequest(WELCOME_NOT_FOUND) from None
    return app, new_values(repo.get_settings(conn, int(app.id)), body, utcnow())


def store_settings(
    conn: Connection, org_id: int, app_uuid: str, values: dict[str, Any], public_url: str
) -> UpdatesOut:
    app = resolve_app(conn, org_id, app_uuid)
    app_id = int(app.id)
    if "relay_url" in values and values["relay_url"] is None:
        repo.cancel_relay(conn, app_id)
    repo.upsert_settings(conn, app_id, values)
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


# -- intake -----------------------------------------------------------------------------------


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


# -- what an update does ----------------------------------------------------------------------


def apply_update(
    conn: Connection,
    app_id: int,
    org_id: int,
    view: Any,
    row: Any,
    link_secrets: tuple[str, ...],
    now: datetime | None = None,
) -> list[Effect]:
    """Applies one stored update once (in the caller's transaction); [] when another
    transaction applied it first."""
    now = now or utcnow()
    if not repo.mark_processed(conn, int(row.id), now):
        return []
    try:
        update = json.loads(row.payload)
    except ValueError:
        return []
    options = decide.Options(
        dialog_guard=bool(view.dialog_guard), register_groups=bool(view.register_groups)
    )
    effects = decide.decide(update, options)
    for effect in effects:
        _apply(conn, app_id, org_id, view, effect, link_secrets, int(row.update_id), now)
    return effects


def _apply(
    conn: Connection,
    app_id: int,
    org_id: int,
    view: Any,
    effect: Effect,
    link_secrets: tuple[str, ...],
    update_id: int,
    now: datetime,
) -> None:
    if isinstance(effect, decide.Start):
        _start(conn, app_id, org_id, effect, link_secrets, view.welcome_message_id, now)
    elif isinstance(effect, decide.Deactivate):
        repo.set_token_active(conn, app_id, effect.chat_id, False, effect.reason, now)
    elif isinstance(effect, decide.Reactivate):
        repo.set_token_active(conn, app_id, effect.chat_id, True, None, now)
    elif isinstance(effect, decide.RegisterGroup):
        _register_group(conn, app_id, org_id, effect, now)
    elif isinstance(effect, decide.Dialog):
        dialog_guard(conn, app_id, effect.chat_id, int(view.dialog_guard_seconds), update_id, now)
    elif isinstance(effect, decide.Migrate) and not repo.move_token(
        conn, app_id, effect.old_chat_id, effect.new_chat_id
    ):
        # The new chat id is registered already: the old one is gone for good.
        repo.set_token_active(
            conn, app_id, effect.old_chat_id, False, "Migrated to a supergroup", now
        )


def _start(
    conn: Connection,
    app_id: int,
    org_id: int,
    start: decide.Start,
    link_secrets: tuple[str, ...],
    welcome_message_id: int | None,
    now: datetime,
) -> None:
    contact_id = None
    if start.payload is not None:
        named = links.read_payload(link_secrets, app_id, start.payload, now)
        if named is not None and contacts_repo.existing_contact_ids(conn, org_id, [named[0]]):
            single_use = named[1]
            if not single_use or repo.use_link(conn, app_id, start.payload, start.chat_id, now):
                contact_id = named[0]
    if contact_id is None:
        existing = repo.token_row(conn, app_id, start.chat_id)
        if existing is not None:
            contact_id = int(existing.contact_id)
        else:
            fields = {
                k: v
                for k, v in (
                    ("telegramUsername", start.username),
                    ("languageCode", start.language),
                )
                if v is not None
            }
            (contact_id,) = contacts_repo.insert_contacts(
                conn,
                [
                    {
                        "organization_id": org_id,
                        "external_customer_id": None,
                        "phone": None,
                        "email": None,
                        "first_name": start.first_name,
                        "last_name": start.last_name,
                        "fields": fields or None,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
    # The registration path of POST /tokens: moves, reactivates, and its webhook events.
    result = register_tokens(conn, org_id, app_id, [TokenItem(0, start.chat_id, contact_id)])
    if (
        welcome_message_id is not None
        and (result.tokensAdded or result.tokensReactivated)
        and message_exists(conn, org_id, int(welcome_message_id))  # deleted since: none
    ):
        # A transactional send: it reaches the new subscriber whatever their mute.
        queue(
            conn,
            org_id,
            app_id,
            int(welcome_message_id),
            [Target(locator=start.chat_id)],
            st.KIND_SMARTSEND,
        )


def _register_group(
    conn: Connection, app_id: int, org_id: int, group: decide.RegisterGroup, now: datetime
) -> None:
    existing = repo.token_row(conn, app_id, group.chat_id)
    if existing is not None:
        contact_id = int(existing.contact_id)
    else:
        (contact_id,) = contacts_repo.insert_contacts(
            conn,
            [
                {
                    "organization_id": org_id,
                    "external_customer_id": None,
                    "phone": None,
                    "email": None,
                    "first_name": group.title,
                    "last_name": None,
                    "fields": {"telegramChatType": "group"},
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    register_tokens(conn, org_id, app_id, [TokenItem(0, group.chat_id, contact_id)])


def dialog_guard(
    conn: Connection, app_id: int, chat_id: str, seconds: int, update_id: int, now: datetime
) -> datetime | None:
    """Mutes the chat for ``seconds`` from now unless it is muted longer already. Recorded
    in the mute history (and mute webhooks) as made by ``dialog-guard``."""
    current = mute_repo.current(conn, app_id, [chat_id]).get(chat_id)
    if current is not None and current <= now:
        current = None
    until = decide.guard_until(current, now, seconds)
    if until is None:
        return None
    # mute_events has no column for the update id; the log line ties them together.
    log.debug("app %s: dialog guard mutes %s (update %s)", app_id, chat_id, update_id)
    mute_service.mute(conn, app_id, [chat_id], seconds, None, now=now, source=actors.DIALOG_GUARD)
    return until


# -- deep links -------------------------------------------------------------------------------


def link_contact(conn: Connection, org_id: int, body: LinkIn, now: datetime) -> int:
    """The contact a link joins: by contactId (404 if not the caller's), else by an
    identifier, creating the contact when none holds it."""
    if body.contactId is not None:
        if not 0 < body.contactId <= MAX_ID or not contacts_repo.existing_contact_ids(
            conn, org_id, [body.contactId]
        ):
            raise NotFound(CONTACT_NOT_FOUND)
        return body.contactId
    for name, column in (
        ("externalCustomerId", "external_customer_id"),
        ("email", "email"),
        ("phone", "phone"),
    ):
        value = getattr(body, name)
        if value is None:
            continue
        value = value.strip()
        if not value or len(value) > 200:
            raise BadRequest(f"{name} must be a non-empty string of at most 200 characters")
        found = contacts_repo.contacts_by_identifier(conn, org_id, column, [value])
        if value in found:
            return found[value]
        row = {
            "organization_id": org_id,
            "external_customer_id": None,
            "phone": None,
            "email": None,
            "fields": None,
            "created_at": now,
            "updated_at": now,
        }
        row[column] = value
        (contact_id,) = contacts_repo.insert_contacts(conn, [row])
        return contact_id
    raise BadRequest("One of contactId, externalCustomerId, email, phone is required")


def make_link(
    conn: Connection,
    org_id: int,
    app: Any,
    body: LinkIn,
    secret: str,
    ttl_s: int,
) -> LinkOut:
    now = utcnow()
    contact_id = link_contact(conn, org_id, body, now)
    expires = now.replace(microsecond=0) + timedelta(seconds=ttl_s)
    payload = links.make_payload(secret, int(app.id), contact_id, expires, body.singleUse)
    return LinkOut(
        url=f"https://t.me/{app.bot_username}?start={payload}",
        payload=payload,
        expiresAt=iso(expires) or "",
    )

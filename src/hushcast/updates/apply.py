"""What a stored update does, applied once in the caller's transaction. Never commits."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import repository as contacts_repo
from hushcast.contacts.service import TokenItem, register_tokens
from hushcast.core.timeutil import utcnow
from hushcast.delivery import status as st
from hushcast.mute import actors
from hushcast.mute import repository as mute_repo
from hushcast.mute import service as mute_service
from hushcast.sending.repository import message_exists
from hushcast.sending.service import Target, queue
from hushcast.updates import decide, links
from hushcast.updates import repository as repo
from hushcast.updates.decide import Effect
from hushcast.webhooks import outbox as webhook_outbox

log = logging.getLogger("hushcast.updates")


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
        if repo.set_token_active(conn, app_id, effect.chat_id, False, effect.reason, now):
            # The subscriber webhook event a failed send would have written.
            webhook_outbox.record_outcomes(conn, app_id, [], [(effect.chat_id, effect.reason)])
    elif isinstance(effect, decide.Reactivate):
        before = repo.token_row(conn, app_id, effect.chat_id)
        if before is not None and repo.set_token_active(
            conn, app_id, effect.chat_id, True, None, now
        ):
            webhook_outbox.record_token_changes(
                conn, app_id, {effect.chat_id: int(before.contact_id)}, {effect.chat_id: before}
            )
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

"""All SQL for transactional sends (smartsend, test) and their status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.contacts.repository import existing_contact_ids  # noqa: F401  (re-exported)
from hushcast.core.db import chunked as _chunks
from hushcast.delivery.models import deliveries
from hushcast.messages.models import messages


def message_exists(conn: Connection, org_id: int, message_id: int) -> bool:
    row = conn.execute(
        select(messages.c.id).where(
            messages.c.id == message_id, messages.c.organization_id == org_id
        )
    ).first()
    return row is not None


def tokens_of_app(conn: Connection, app_id: int, tokens: Sequence[str]) -> dict[str, Any]:
    """token -> (token, contact_id, active) among the app's registered tokens."""
    result: dict[str, Any] = {}
    for part in _chunks(sorted(set(tokens))):
        rows = conn.execute(
            select(app_tokens.c.token, app_tokens.c.contact_id, app_tokens.c.active).where(
                app_tokens.c.app_id == app_id, app_tokens.c.token.in_(part)
            )
        )
        for r in rows:
            result[r.token] = r
    return result


def contacts_by_external_id(conn: Connection, org_id: int, values: Sequence[str]) -> dict[str, int]:
    """externalCustomerId -> the oldest contact holding it."""
    result: dict[str, int] = {}
    for part in _chunks(sorted(set(values))):
        rows = conn.execute(
            select(contacts.c.external_customer_id, func.min(contacts.c.id))
            .where(contacts.c.organization_id == org_id, contacts.c.external_customer_id.in_(part))
            .group_by(contacts.c.external_customer_id)
        )
        for value, cid in rows:
            result[value] = int(cid)
    return result


def active_tokens_of_contacts(
    conn: Connection, app_id: int, contact_ids: Sequence[int]
) -> dict[int, list[str]]:
    """contact id -> its active tokens for the app, in registration order."""
    result: dict[int, list[str]] = {}
    for part in _chunks(sorted(set(contact_ids))):
        rows = conn.execute(
            select(app_tokens.c.contact_id, app_tokens.c.token)
            .where(
                app_tokens.c.app_id == app_id,
                app_tokens.c.contact_id.in_(part),
                app_tokens.c.active.is_(True),
            )
            .order_by(app_tokens.c.id)
        )
        for cid, token in rows:
            result.setdefault(int(cid), []).append(token)
    return result


def profile_languages(conn: Connection, contact_ids: Sequence[int]) -> dict[int, str]:
    """The contacts' languageCode (Yespo's Contact field), where they have one."""
    from hushcast.yespo.models import contact_profiles

    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(contact_ids))):
        for r in conn.execute(
            select(contact_profiles.c.contact_id, contact_profiles.c.language_code).where(
                contact_profiles.c.contact_id.in_(chunk),
                contact_profiles.c.language_code.is_not(None),
            )
        ):
            out[int(r.contact_id)] = str(r.language_code)
    return out


def insert_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(deliveries), rows)


def deliveries_by_request_ids(
    conn: Connection, org_id: int, request_ids: Sequence[str]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in _chunks(sorted(set(request_ids))):
        rows = conn.execute(
            select(
                deliveries.c.request_id,
                deliveries.c.status,
                deliveries.c.error_name,
                deliveries.c.description,
            ).where(deliveries.c.organization_id == org_id, deliveries.c.request_id.in_(part))
        )
        for r in rows:
            result[r.request_id] = r
    return result

"""Deep links: the contact a link joins, and the link. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import repository as contacts_repo
from hushcast.core.errors import MAX_ID, BadRequest, NotFound
from hushcast.core.timeutil import iso, utcnow
from hushcast.updates import links
from hushcast.updates.schemas import LinkIn, LinkOut

CONTACT_NOT_FOUND = "Contact not found"


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

"""Webhook receivers: create, read, change, rotate the secret. Never commits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import BadRequest, NotFound, check_id
from hushcast.core.timeutil import iso, utcnow
from hushcast.webhooks import guard, signing
from hushcast.webhooks import repository as repo
from hushcast.webhooks.config import WebhookSettings
from hushcast.webhooks.events import TYPES
from hushcast.webhooks.schemas import (
    AttemptOut,
    FailedEventOut,
    SecretOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)

NOT_FOUND = "Webhook not found"


def checked_url(url: str, cfg: WebhookSettings) -> str:
    try:
        host = guard.check_url(url, cfg.allow_private)
        guard.resolve_and_check(host, cfg.allow_private)
    except guard.UnsafeTarget as exc:
        raise BadRequest(str(exc)) from exc
    return url


def _events(names: list[str]) -> str:
    # Stored in a fixed order, once each.
    return ",".join(t for t in TYPES if t in set(names))


def out(conn: Connection, row: Any) -> WebhookOut:
    counts = repo.outbox_counts(conn, int(row.id))
    return WebhookOut(
        id=int(row.id),
        url=row.url,
        events=row.events.split(","),
        format=row.format,
        description=row.description,
        active=bool(row.active),
        createdAt=iso(row.created_at) or "",
        updatedAt=iso(row.updated_at) or "",
        pendingEvents=counts.get(repo.PENDING, 0),
        failedEvents=counts.get(repo.FAILED, 0),
        consecutiveFailures=int(row.failures),
        nextAttemptAt=iso(row.next_attempt_at),
    )


def create(conn: Connection, org_id: int, body: WebhookIn, cfg: WebhookSettings) -> WebhookCreated:
    url = checked_url(body.url, cfg)
    now = utcnow()
    secret = signing.new_secret()
    webhook_id = repo.insert_webhook(
        conn,
        {
            "organization_id": org_id,
            "url": url,
            "events": _events(list(body.events)),
            "format": body.format,
            "description": body.description,
            "active": True,
            "secret": secret,
            "created_at": now,
            "updated_at": now,
            "failures": 0,
            # Mutes that ended before the webhook existed are not its business.
            "expiry_scanned_until": now,
        },
    )
    row = get_row(conn, org_id, webhook_id)
    return WebhookCreated(**out(conn, row).model_dump(), secret=secret)


def get_row(conn: Connection, org_id: int, webhook_id: int) -> Any:
    row = repo.get_webhook(conn, org_id, check_id(webhook_id, NOT_FOUND))
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def list_all(conn: Connection, org_id: int) -> list[WebhookOut]:
    return [out(conn, r) for r in repo.list_webhooks(conn, org_id)]


def update(
    conn: Connection, org_id: int, webhook_id: int, body: WebhookPatch, cfg: WebhookSettings
) -> WebhookOut:
    row = get_row(conn, org_id, webhook_id)
    values: dict[str, Any] = {}
    fields = body.model_fields_set
    if "url" in fields:
        if body.url is None:
            raise BadRequest("url: must not be null")
        values["url"] = checked_url(body.url, cfg)
    if "events" in fields:
        if body.events is None:
            raise BadRequest("events: must not be null")
        values["events"] = _events(list(body.events))
        if "mute" in body.events and "mute" not in row.events.split(","):
            values["expiry_scanned_until"] = utcnow()
    if "format" in fields:
        if body.format is None:
            raise BadRequest("format: must not be null")
        values["format"] = body.format
    if "description" in fields:
        values["description"] = body.description
    if "active" in fields:
        if body.active is None:
            raise BadRequest("active: must not be null")
        values["active"] = body.active
        if body.active and not row.active:
            # Back on: retry at once, and no "expired" events for the time it was off.
            values["next_attempt_at"] = None
            values["failures"] = 0
    if values:
        values["updated_at"] = utcnow()
        repo.update_webhook(conn, org_id, int(row.id), values)
    return out(conn, get_row(conn, org_id, int(row.id)))


def delete(conn: Connection, org_id: int, webhook_id: int) -> None:
    row = get_row(conn, org_id, webhook_id)
    repo.delete_webhook(conn, org_id, int(row.id))


def rotate_secret(
    conn: Connection, org_id: int, webhook_id: int, cfg: WebhookSettings
) -> SecretOut:
    """A new secret; the current one keeps signing beside it for the overlap period."""
    row = get_row(conn, org_id, webhook_id)
    now = utcnow()
    until = now + timedelta(seconds=cfg.rotation_overlap_s)
    secret = signing.new_secret()
    repo.update_webhook(
        conn,
        org_id,
        int(row.id),
        {
            "secret": secret,
            "previous_secret": row.secret,
            "previous_secret_until": until,
            "updated_at": now,
        },
    )
    return SecretOut(id=int(row.id), secret=secret, previousSecretValidUntil=iso(until))


def signing_secrets(row: Any) -> list[str]:
    """The secrets that sign now: the current one, and the previous during a rotation."""
    keys = [str(row.secret)]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > utcnow():
        keys.append(str(row.previous_secret))
    return keys


def attempts(
    conn: Connection, org_id: int, webhook_id: int, offset: int, limit: int
) -> tuple[list[AttemptOut], int]:
    row = get_row(conn, org_id, webhook_id)
    rows = repo.list_attempts(conn, int(row.id), offset, limit)
    total = repo.count_attempts(conn, int(row.id))
    return [
        AttemptOut(
            id=int(a.id),
            at=iso(a.at) or "",
            events=int(a.events),
            ok=bool(a.ok),
            statusCode=a.status_code,
            latencyMs=int(a.latency_ms),
            error=a.error,
            nextRetryAt=iso(a.next_retry_at),
            test=bool(a.test),
        )
        for a in rows
    ], total


def failed(conn: Connection, org_id: int, webhook_id: int, limit: int) -> list[FailedEventOut]:
    row = get_row(conn, org_id, webhook_id)
    return [
        FailedEventOut(
            eventId=r.event_id,
            type=r.type,
            occurredAt=iso(r.occurred_at) or "",
            attempts=int(r.attempts),
            firstAttemptAt=iso(r.first_attempt_at),
        )
        for r in repo.failed_events(conn, int(row.id), limit)
    ]

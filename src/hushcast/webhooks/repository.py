"""All SQL of webhooks: the receivers, the outbox, claims and attempts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects import sqlite

from hushcast.bots.models import apps
from hushcast.contacts.models import contacts
from hushcast.core.db import chunked
from hushcast.delivery.models import deliveries
from hushcast.mute.models import mutes
from hushcast.webhooks.models import webhook_attempts, webhook_outbox, webhooks

PENDING = "PENDING"
FAILED = "FAILED"
# The attempts kept per webhook for the deliveries listing (older ones are pruned).
KEEP_ATTEMPTS = 500

# -- receivers ---------------------------------------------------------------------


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def insert_webhook(conn: Connection, values: dict[str, Any]) -> int:
    return _new_id(conn.execute(webhooks.insert().values(**values)))


def list_webhooks(conn: Connection, org_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(webhooks).where(webhooks.c.organization_id == org_id).order_by(webhooks.c.id)
        )
    )


def get_webhook(conn: Connection, org_id: int, webhook_id: int) -> Any:
    return conn.execute(
        select(webhooks).where(webhooks.c.organization_id == org_id, webhooks.c.id == webhook_id)
    ).first()


def update_webhook(conn: Connection, org_id: int, webhook_id: int, values: dict[str, Any]) -> bool:
    res = conn.execute(
        update(webhooks)
        .where(webhooks.c.organization_id == org_id, webhooks.c.id == webhook_id)
        .values(**values)
    )
    return bool(res.rowcount)


def delete_webhook(conn: Connection, org_id: int, webhook_id: int) -> bool:
    conn.execute(delete(webhook_outbox).where(webhook_outbox.c.webhook_id == webhook_id))
    conn.execute(delete(webhook_attempts).where(webhook_attempts.c.webhook_id == webhook_id))
    res = conn.execute(
        delete(webhooks).where(webhooks.c.organization_id == org_id, webhooks.c.id == webhook_id)
    )
    return bool(res.rowcount)


def outbox_counts(conn: Connection, webhook_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(webhook_outbox.c.status, func.count())
        .where(webhook_outbox.c.webhook_id == webhook_id)
        .group_by(webhook_outbox.c.status)
    )
    return {str(s): int(n) for s, n in rows}


def failed_events(conn: Connection, webhook_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(webhook_outbox)
            .where(webhook_outbox.c.webhook_id == webhook_id, webhook_outbox.c.status == FAILED)
            .order_by(webhook_outbox.c.id.desc())
            .limit(limit)
        )
    )


# -- who listens (read in the transaction that records the events) ----------------


# Built once: the worker runs it with every outcome write.
_SUBSCRIPTIONS_BY_APP = (
    select(apps.c.organization_id, apps.c.uuid, webhooks.c.id, webhooks.c.events)
    .select_from(
        apps.outerjoin(
            webhooks,
            and_(
                webhooks.c.organization_id == apps.c.organization_id,
                webhooks.c.active.is_(True),
            ),
        )
    )
    .where(apps.c.id == bindparam("app_id"))
)


def subscriptions_for_app(conn: Connection, app_id: int) -> tuple[int | None, str, list[Any]]:
    """(organisation id, app uuid, [(webhook id, events)]) of the app's active webhooks."""
    rows = list(conn.execute(_SUBSCRIPTIONS_BY_APP, {"app_id": app_id}))
    if not rows:
        return None, "", []
    subs = [(int(r[2]), str(r[3])) for r in rows if r[2] is not None]
    return int(rows[0][0]), str(rows[0][1]), subs


# Built once: every mute by the API runs it.
_SUBSCRIPTIONS_BY_UUID = (
    select(webhooks.c.id, webhooks.c.events)
    .where(
        webhooks.c.organization_id == bindparam("org_id"),
        webhooks.c.active.is_(True),
        exists().where(
            apps.c.uuid == bindparam("uuid"), apps.c.organization_id == bindparam("org_id")
        ),
    )
    .order_by(webhooks.c.id)
)


# Whether the organisation ``:org_id`` has an active webhook, as an expression for the
# PostgreSQL mute's one statement (mute/repository.py): without one, the mute writes no
# webhook event and reads no subscription.
SUBSCRIBED_PROBE_PG = (
    "EXISTS (SELECT 1 FROM webhooks w WHERE w.organization_id = :org_id AND w.active)"
)


def subscriptions_for_app_uuid(
    conn: Connection, org_id: int, app_uuid: str
) -> list[tuple[int, str]]:
    rows = conn.execute(_SUBSCRIPTIONS_BY_UUID, {"org_id": org_id, "uuid": app_uuid})
    return [(int(i), str(e)) for i, e in rows]


def contacts_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in chunked(sorted(set(ids))):
        rows = conn.execute(
            select(
                contacts.c.id.label("contact_id"),
                contacts.c.external_customer_id,
                contacts.c.phone,
                contacts.c.email,
            ).where(contacts.c.id.in_(list(part)))
        )
        out.update({int(r.contact_id): r for r in rows})
    return out


def contacts_of_tokens(conn: Connection, app_id: int, tokens: Sequence[str]) -> dict[str, Any]:
    from hushcast.contacts.models import app_tokens

    out: dict[str, Any] = {}
    for part in chunked(list(tokens)):
        rows = conn.execute(
            select(
                app_tokens.c.token,
                contacts.c.id.label("contact_id"),
                contacts.c.external_customer_id,
                contacts.c.phone,
                contacts.c.email,
            )
            .select_from(app_tokens.join(contacts, contacts.c.id == app_tokens.c.contact_id))
            .where(app_tokens.c.app_id == app_id, app_tokens.c.token.in_(list(part)))
        )
        out.update({str(r.token): r for r in rows})
    return out


_sqlite_datetime = sqlite.DATETIME().bind_processor(sqlite.dialect())
assert _sqlite_datetime is not None
_SQLITE_DATETIME: Callable[[datetime], str] = _sqlite_datetime
_PG_INSERT_OUTBOX = (
    "INSERT INTO webhook_outbox (webhook_id, event_id, type, occurred_at, payload, status,"
    " attempts, delivery_id) SELECT w, e, t, o, p, 'PENDING', 0, d FROM"
    " unnest(CAST(%(w)s AS BIGINT[]), CAST(%(e)s AS VARCHAR[]), CAST(%(t)s AS VARCHAR[]),"
    " CAST(%(o)s AS TIMESTAMP[]), CAST(%(p)s AS TEXT[]), CAST(%(d)s AS BIGINT[]))"
    " WITH ORDINALITY AS u(w, e, t, o, p, d, n) ORDER BY n"
)
_SQLITE_INSERT_OUTBOX = (
    "INSERT INTO webhook_outbox (webhook_id, event_id, type, occurred_at, payload, status,"
    " attempts, delivery_id) VALUES (?, ?, ?, ?, ?, 'PENDING', 0, ?)"
)

# (webhook id, event id, type, occurred at, payload JSON or None, delivery id or None)
OutboxRow = tuple[int, str, str, datetime, str | None, int | None]


def insert_outbox(conn: Connection, rows: list[OutboxRow]) -> None:
    """Rows in occurrence order. A delivery event has no payload, only its delivery id
    (the dispatcher builds the body). Driver SQL: one statement on PostgreSQL, and no
    per-row SQLAlchemy work (this runs in the worker's outcome write)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        w, e, t, o, p, d = (list(c) for c in zip(*rows, strict=True))
        conn.exec_driver_sql(_PG_INSERT_OUTBOX, {"w": w, "e": e, "t": t, "o": o, "p": p, "d": d})
        return
    conn.exec_driver_sql(
        _SQLITE_INSERT_OUTBOX,
        [(w, e, t, _SQLITE_DATETIME(o), p, d) for w, e, t, o, p, d in rows],
    )


def delivery_rows(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    """What a delivery or click event says: the row's final outcome (it never changes
    once final), its contact's identifiers and its bot (id and uuid)."""
    out: dict[int, Any] = {}
    for part in chunked(sorted(set(ids))):
        rows = conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.app_id,
                deliveries.c.status,
                deliveries.c.error_type,
                deliveries.c.error_name,
                deliveries.c.description,
                deliveries.c.token,
                deliveries.c.telegram_message_id,
                deliveries.c.finished_at,
                deliveries.c.kind,
                deliveries.c.broadcast_id,
                deliveries.c.request_id,
                deliveries.c.external_request_id,
                deliveries.c.message_id,
                deliveries.c.contact_id,
                contacts.c.external_customer_id,
                contacts.c.phone,
                contacts.c.email,
                apps.c.uuid.label("app_uuid"),
            )
            .select_from(
                deliveries.join(apps, apps.c.id == deliveries.c.app_id).outerjoin(
                    contacts, contacts.c.id == deliveries.c.contact_id
                )
            )
            .where(deliveries.c.id.in_(list(part)))
        )
        out.update({int(r.id): r for r in rows})
    return out


def unbuilt_delivery_events(
    conn: Connection, *, app_id: int | None = None, contact_id: int | None = None
) -> list[Any]:
    """Delivery events whose body is still to be built, of one bot's or one contact's
    deliveries: (outbox id, payload (NULL), delivery id). Read through the outbox's unbuilt rows (a
    second's worth while the receiver keeps up)."""
    if app_id is not None:
        where = deliveries.c.app_id == app_id
    else:
        assert contact_id is not None
        where = deliveries.c.contact_id == contact_id
    return list(
        conn.execute(
            select(webhook_outbox.c.id, webhook_outbox.c.payload, webhook_outbox.c.delivery_id)
            .select_from(
                webhook_outbox.join(deliveries, deliveries.c.id == webhook_outbox.c.delivery_id)
            )
            .where(webhook_outbox.c.payload.is_(None), where)
        )
    )


def set_payloads(conn: Connection, payloads: Sequence[tuple[int, str]]) -> None:
    """(outbox id, payload JSON) pairs."""
    if payloads:
        conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.id == bindparam("b_id"))
            .values(payload=bindparam("b_payload")),
            [{"b_id": i, "b_payload": p} for i, p in payloads],
        )


# -- the dispatcher's claims ---------------------------------------------------------


def claim_webhooks(
    conn: Connection,
    owner: str,
    now: datetime,
    lease_until: datetime,
    scan_before: datetime,
    limit: int,
) -> list[Any]:
    """Leases up to ``limit`` webhooks with work: events due to be sent, or timed mutes
    to look at. A webhook leased by a live dispatcher is skipped (SKIP LOCKED on
    PostgreSQL; SQLite has one writer at a time)."""
    w = webhooks
    has_pending = exists().where(
        webhook_outbox.c.webhook_id == w.c.id, webhook_outbox.c.status == PENDING
    )
    candidates = (
        select(w.c.id)
        .where(
            w.c.active.is_(True),
            or_(w.c.lease_until.is_(None), w.c.lease_until < now),
            or_(
                and_(or_(w.c.next_attempt_at.is_(None), w.c.next_attempt_at <= now), has_pending),
                and_(w.c.events.like("%mute%"), w.c.expiry_scanned_until <= scan_before),
            ),
        )
        .order_by(w.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [int(i) for i in conn.execute(candidates).scalars()]
    if not ids:
        return []
    conn.execute(
        update(w).where(w.c.id.in_(ids)).values(lease_owner=owner, lease_until=lease_until)
    )
    return list(conn.execute(select(w).where(w.c.id.in_(ids)).order_by(w.c.id)))


def renew_lease(conn: Connection, webhook_id: int, owner: str, until: datetime) -> Any:
    """The webhook's row if this dispatcher still holds it (lease extended), else None."""
    res = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
        .values(lease_until=until)
    )
    if not res.rowcount:
        return None
    return conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()


def release_lease(conn: Connection, webhook_id: int, owner: str) -> None:
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def due_batch(conn: Connection, webhook_id: int, limit: int) -> list[Any]:
    """The oldest pending events: a webhook's events go out in the order recorded."""
    return list(
        conn.execute(
            select(
                webhook_outbox.c.id,
                webhook_outbox.c.payload,
                webhook_outbox.c.delivery_id,
                webhook_outbox.c.event_id,
                webhook_outbox.c.occurred_at,
                webhook_outbox.c.first_attempt_at,
            )
            .where(webhook_outbox.c.webhook_id == webhook_id, webhook_outbox.c.status == PENDING)
            .order_by(webhook_outbox.c.id)
            .limit(limit)
        )
    )


def _holds(webhook_id: int, owner: str) -> Any:
    return exists().where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)


def record_sent(conn: Connection, webhook_id: int, owner: str, ids: Sequence[int]) -> bool:
    """The receiver accepted these events: they leave the outbox. False (nothing
    changed) if the lease was lost meanwhile."""
    held = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
        .values(failures=0, next_attempt_at=None)
    ).rowcount
    if not held:
        return False
    for part in chunked(list(ids)):
        conn.execute(delete(webhook_outbox).where(webhook_outbox.c.id.in_(list(part))))
    return True


def record_failed_attempt(
    conn: Connection,
    webhook_id: int,
    owner: str,
    ids: Sequence[int],
    now: datetime,
    next_attempt_at: datetime,
    give_up_before: datetime,
) -> int:
    """A failed POST: the events' attempts grow, those first tried before
    ``give_up_before`` are marked FAILED; the webhook waits until ``next_attempt_at``.
    Returns how many events were marked FAILED."""
    held = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
        .values(failures=webhooks.c.failures + 1, next_attempt_at=next_attempt_at)
    ).rowcount
    if not held:
        return 0
    failed = 0
    for part in chunked(list(ids)):
        o = webhook_outbox
        conn.execute(
            update(o)
            .where(o.c.id.in_(list(part)))
            .values(
                attempts=o.c.attempts + 1,
                first_attempt_at=func.coalesce(o.c.first_attempt_at, now),
            )
        )
        failed += conn.execute(
            update(o)
            .where(o.c.id.in_(list(part)), o.c.first_attempt_at <= give_up_before)
            .values(status=FAILED)
        ).rowcount
    if failed:
        # What is left goes out at once: the failed events no longer hold it up.
        conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(failures=0))
    return int(failed)


def insert_attempt(conn: Connection, values: dict[str, Any]) -> None:
    new_id = _new_id(conn.execute(webhook_attempts.insert().values(**values)))
    if new_id % 50 == 0:
        conn.execute(
            delete(webhook_attempts).where(
                webhook_attempts.c.webhook_id == values["webhook_id"],
                webhook_attempts.c.id
                < select(webhook_attempts.c.id)
                .where(webhook_attempts.c.webhook_id == values["webhook_id"])
                .order_by(webhook_attempts.c.id.desc())
                .offset(KEEP_ATTEMPTS)
                .limit(1)
                .scalar_subquery(),
            )
        )


def list_attempts(conn: Connection, webhook_id: int, offset: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.webhook_id == webhook_id)
            .order_by(webhook_attempts.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def count_attempts(conn: Connection, webhook_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(webhook_attempts.c.webhook_id == webhook_id)
        ).scalar_one()
    )


# -- mute expiry --------------------------------------------------------------------


def ended_mutes(conn: Connection, org_id: int, after: datetime, upto: datetime) -> list[Any]:
    """The organisation's timed mutes that ended in (after, upto], in the order they ended."""
    return list(
        conn.execute(
            select(mutes.c.app_id, apps.c.uuid, mutes.c.token, mutes.c.muted_until)
            .select_from(mutes.join(apps, apps.c.id == mutes.c.app_id))
            .where(
                mutes.c.muted_until > after,
                mutes.c.muted_until <= upto,
                apps.c.organization_id == org_id,
            )
            .order_by(mutes.c.muted_until, mutes.c.token)
        )
    )


def set_scanned(conn: Connection, webhook_id: int, owner: str, upto: datetime) -> bool:
    res = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
        .values(expiry_scanned_until=upto)
    )
    return bool(res.rowcount)

"""Recording events in the outbox, inside the transaction of the change they describe.

These are the only functions other modules call (one line each, see the hooks listed
in docs): the delivery worker's outcome write, mutes, token registration and clicks.
When the organisation has no webhook for the event's type they cost one indexed
SELECT and write nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.core.timeutil import utcnow
from hushcast.mute import actors as mute_actors
from hushcast.webhooks import events as ev
from hushcast.webhooks import repository as repo

_FINAL = ("DELIVERED", "UNAVAILABLE", "ERROR")
DEACTIVATED_VIA_API = "Deactivated via the API"
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _listening(subs: Iterable[tuple[int, str]], event_type: str) -> list[int]:
    return [wid for wid, names in subs if event_type in names.split(",")]


def _write(conn: Connection, webhook_ids: Sequence[int], events: Sequence[ev.Event]) -> None:
    if not webhook_ids or not events:
        return
    dumps = _ENCODER.encode
    rows: list[repo.OutboxRow] = []
    for event in events:
        payload = dumps(event.as_json())
        for wid in webhook_ids:
            rows.append((wid, event.id, event.type, event.occurred_at, payload, None))
    repo.insert_outbox(conn, rows)


def encode(event: ev.Event) -> str:
    return _ENCODER.encode(event.as_json())


def record_outcomes(
    conn: Connection,
    app_id: int,
    outcomes: Sequence[Mapping[str, Any]],
    deactivate: Sequence[tuple[str, str]] = (),
) -> None:
    """The worker's outcome write: a ``delivery`` event per final outcome, a
    ``subscriber`` ``deactivated`` event per token Telegram said is gone.

    A delivery event is recorded as a reference to its row (id, type, time, delivery id):
    the dispatcher builds its body when it sends it (``build_delivery_payloads``), off
    the send path. Building and encoding a body per recipient here took 140-190 ms per
    1,000 outcomes of the worker's time, and lowered its sending rate."""
    if not outcomes and not deactivate:
        return
    _org, app_uuid, subs = repo.subscriptions_for_app(conn, app_id)
    if not subs:
        return
    to_delivery = _listening(subs, ev.DELIVERY)
    final = [o for o in outcomes if o["b_status"] in _FINAL] if to_delivery else []
    if final:
        refs = [
            (
                ev.delivery_event_id(int(o["b_id"]), o["b_status"]),
                o["b_finished_at"],
                int(o["b_id"]),
            )
            for o in final
        ]
        repo.insert_outbox(
            conn,
            [(wid, e, ev.DELIVERY, at, None, d) for e, at, d in refs for wid in to_delivery],
        )
    to_subscriber = _listening(subs, ev.SUBSCRIBER)
    if deactivate and to_subscriber:
        now = utcnow()
        known = repo.contacts_of_tokens(conn, app_id, [t for t, _ in deactivate])
        _write(
            conn,
            to_subscriber,
            [
                ev.subscriber_event("deactivated", app_uuid, t, known.get(t), now, reason=reason)
                for t, reason in deactivate
            ],
        )


def build_delivery_payloads(conn: Connection, rows: Sequence[Any]) -> dict[int, str]:
    """The bodies of the delivery events among outbox ``rows`` (id, payload,
    delivery_id) that have none yet: outbox id -> payload JSON."""
    wanted = {int(r.id): int(r.delivery_id) for r in rows if r.payload is None}
    if not wanted:
        return {}
    found = repo.delivery_rows(conn, list(wanted.values()))
    return {
        oid: encode(ev.delivery_event(found[did])) for oid, did in wanted.items() if did in found
    }


def payload_of(row: Any, built: Mapping[int, str]) -> str:
    """An outbox row's body: stored, built by build_delivery_payloads, or (its delivery
    row gone) what the outbox row itself knows of the event."""
    if row.payload is not None:
        return str(row.payload)
    payload = built.get(int(row.id))
    if payload is not None:
        return payload
    return encode(
        ev.Event(str(row.event_id), ev.DELIVERY, row.occurred_at, {"deliveryId": row.delivery_id})
    )


def materialize_delivery_events(
    conn: Connection, *, app_id: int | None = None, contact_id: int | None = None
) -> None:
    """Builds and stores now the bodies of pending delivery events whose delivery rows
    are about to go or lose what they say: a bot is deleted (its rows go with it), a
    contact is deleted (its identifiers would)."""
    pending = repo.unbuilt_delivery_events(conn, app_id=app_id, contact_id=contact_id)
    repo.set_payloads(conn, list(build_delivery_payloads(conn, pending).items()))


def record_click(conn: Connection, delivery_id: int, link: str, at: datetime) -> None:
    """A recipient followed a tracked link of this delivery."""
    detail = repo.delivery_rows(conn, [delivery_id]).get(delivery_id)
    if detail is None:
        return
    _org, app_uuid, subs = repo.subscriptions_for_app(conn, int(detail.app_id))
    to_click = _listening(subs, ev.CLICK)
    if to_click:
        _write(conn, to_click, [ev.click_event(detail, app_uuid, link, at)])


def record_mutes(
    conn: Connection,
    action: str,
    tokens: Sequence[str],
    muted_until: datetime | None,
    api_key_id: int | None,
    at: datetime,
    *,
    app_id: int | None = None,
    org_id: int | None = None,
    app_uuid: str | None = None,
    source: str | None = None,
) -> None:
    """``muted`` or ``unmuted``, for the app given by id, or by (organisation, uuid)."""
    if app_id is not None:
        _org, uuid, subs = repo.subscriptions_for_app(conn, app_id)
    else:
        assert org_id is not None and app_uuid is not None
        uuid, subs = app_uuid, repo.subscriptions_for_app_uuid(conn, org_id, app_uuid)
    to_mute = _listening(subs, ev.MUTE)
    if not to_mute:
        return
    by = mute_actors.describe(source, api_key_id)
    until = muted_until if action == "muted" else None
    _write(conn, to_mute, [ev.mute_event(action, uuid, t, until, at, by) for t in tokens])


def record_token_changes(
    conn: Connection,
    app_id: int,
    target: Mapping[str, int],
    existing: Mapping[str, Any],
) -> None:
    """Token registration: ``added`` (new token), ``moved`` (to another contact),
    ``reactivated`` (a deactivated token registered again). ``target``: token -> the
    contact id it now belongs to; ``existing``: token -> its row before the change."""
    changes: list[tuple[str, str, dict[str, Any]]] = []
    for token, cid in target.items():
        row = existing.get(token)
        if row is None:
            changes.append(("added", token, {}))
        elif int(row.contact_id) != cid:
            changes.append(("moved", token, {"previousContactId": int(row.contact_id)}))
        elif not row.active:
            changes.append(("reactivated", token, {}))
    if not changes:
        return
    _org, app_uuid, subs = repo.subscriptions_for_app(conn, app_id)
    to_subscriber = _listening(subs, ev.SUBSCRIBER)
    if not to_subscriber:
        return
    now = utcnow()
    people = repo.contacts_by_id(conn, list(target.values()))
    _write(
        conn,
        to_subscriber,
        [
            ev.subscriber_event(action, app_uuid, token, people.get(target[token]), now, **extra)
            for action, token, extra in changes
        ],
    )


def record_activation(conn: Connection, app_id: int, token: str, active: bool) -> None:
    """Yespo's token activation API changed a token's state: ``reactivated`` or
    ``deactivated`` (reason: the API), so a CRM hears of it as of a blocked bot."""
    _org, app_uuid, subs = repo.subscriptions_for_app(conn, app_id)
    to_subscriber = _listening(subs, ev.SUBSCRIBER)
    if not to_subscriber:
        return
    known = repo.contacts_of_tokens(conn, app_id, [token])
    extra: dict[str, Any] = {} if active else {"reason": DEACTIVATED_VIA_API}
    action = "reactivated" if active else "deactivated"
    _write(
        conn,
        to_subscriber,
        [ev.subscriber_event(action, app_uuid, token, known.get(token), utcnow(), **extra)],
    )


def record_expired(conn: Connection, webhook_id: int, ended: Sequence[Any]) -> None:
    """``expired`` events for timed mutes that ended (the dispatcher's scan). The id is
    derived from the mute, so an expiry seen twice has one id."""
    _write(
        conn,
        [webhook_id],
        [
            ev.mute_event(
                "expired",
                str(m.uuid),
                str(m.token),
                m.muted_until,
                m.muted_until,
                mute_actors.EXPIRY,
                ev.stable_id("expired", m.app_id, m.token, m.muted_until.isoformat()),
            )
            for m in ended
        ],
    )

"""The SQL of the eligibility pipeline: parked rows (release, due sweep), the policies
and recipient facts the pre-send check reads, and frequency-cap counts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, bindparam, func, or_, select, update

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.contacts.models import contacts
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.policies.models import app_policies, contact_quiet_hours, org_policies

_CHUNK = 900  # bound parameters per IN list (SQLite's limit is 999 on old builds)


def _release_statement(app: Any, one: bool) -> Any:
    token = (
        deliveries.c.token == bindparam("chat")
        if one
        else deliveries.c.token.in_(bindparam("chats", expanding=True))
    )
    return (
        update(deliveries)
        .where(deliveries.c.app_id == app, deliveries.c.status == st.HELD, token)
        .values(status=st.IN_QUEUE, available_at=bindparam("released_at"))
    )


_APP_OF_UUID = (
    select(apps.c.id)
    .where(apps.c.organization_id == bindparam("org_id"), apps.c.uuid == bindparam("uuid"))
    .scalar_subquery()
)
# Built once: every mute and unmute runs one of these, and building the statement and
# its cache key each time cost more than the statement (the mute API's profile).
_RELEASE = {
    (by_uuid, one): _release_statement(_APP_OF_UUID if by_uuid else bindparam("bot"), one)
    for by_uuid in (False, True)
    for one in (False, True)
}


# release_held as the body of a data-modifying CTE, for the PostgreSQL mute's one
# statement (mute/repository.py): the held rows of ``:tokens`` of the bot found by the
# statement's ``app`` CTE, due at ``:now``.
RELEASE_HELD_CTE_PG = (
    f"UPDATE deliveries SET status = '{st.IN_QUEUE}', available_at = :now"
    f" WHERE app_id = (SELECT id FROM app) AND status = '{st.HELD}'"
    " AND token = ANY(CAST(:tokens AS VARCHAR[])) RETURNING 1"
)


def release_held(
    conn: Connection,
    tokens: Sequence[str],
    now: datetime,
    *,
    app_id: int | None = None,
    org_id: int | None = None,
    app_uuid: str | None = None,
) -> int:
    """HELD rows of these chats back to the queue, due now (ix_deliveries_held_token), for
    the bot ``app_id`` or the organisation's bot with this uuid (found by the statement)."""
    by_uuid = app_id is None
    app = {"org_id": org_id, "uuid": app_uuid} if by_uuid else {"bot": app_id}
    if len(tokens) == 1:
        result = conn.execute(
            _RELEASE[by_uuid, True], {**app, "chat": tokens[0], "released_at": now}
        )
        return int(result.rowcount or 0)
    released = 0
    for i in range(0, len(tokens), _CHUNK):
        part = list(tokens[i : i + _CHUNK])
        result = conn.execute(_RELEASE[by_uuid, False], {**app, "chats": part, "released_at": now})
        released += int(result.rowcount or 0)
    return released


def held_app_of_uuid(conn: Connection, org_id: int, app_uuid: str) -> int | None:
    row = conn.execute(select(_APP_OF_UUID), {"org_id": org_id, "uuid": app_uuid}).first()
    return None if row is None or row[0] is None else int(row[0])


def _release_due_statement(skip_locked: bool) -> Any:
    due = (
        select(deliveries.c.id)
        .where(
            deliveries.c.app_id == bindparam("due_app_id"),
            deliveries.c.status.in_(st.PARKED_STATUSES),
            deliveries.c.available_at <= bindparam("due_at", type_=DateTime()),
        )
        .order_by(deliveries.c.available_at)
        .limit(bindparam("due_limit", type_=Integer()))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(deliveries)
        .where(deliveries.c.id.in_(due.scalar_subquery()))
        .values(status=st.IN_QUEUE)
    )


# Built once: every claim runs it, and building the statement and its cache key each
# time cost more than the query (1.4 ms of a database thread's CPU per call, paid
# benchmark; see _BOT_POLICIES).
_RELEASE_DUE = {True: _release_due_statement(True), False: _release_due_statement(False)}


def release_due(conn: Connection, app_id: int, now: datetime, limit: int) -> int:
    """Up to ``limit`` WAITING and HELD rows whose moment has come, earliest first, back to
    the queue (ix_deliveries_parked): a quiet-hours end, a local time, a timed mute's end,
    a hold deadline. Bounded so that the claim it precedes stays short when a large
    number come due at once (the rest follow with the next claims)."""
    statement = _RELEASE_DUE[conn.dialect.name == "postgresql"]
    # Named apart from the deliveries columns: an UPDATE reserves a column's own name.
    result = conn.execute(statement, {"due_app_id": app_id, "due_at": now, "due_limit": limit})
    return int(result.rowcount or 0)


def _bot_policies_statement() -> Any:
    policy_broadcast = (
        select(broadcasts.c.id)
        .where(
            broadcasts.c.app_id == apps.c.id,
            broadcasts.c.status == st.B_RUNNING,
            or_(broadcasts.c.mute_policy == "hold", broadcasts.c.local_time.is_not(None)),
        )
        .exists()
    )
    # One index probe (the organisation is on the quiet-hours row): through contacts this
    # walked every contact of the organisation on every check.
    contact_quiet = (
        select(contact_quiet_hours.c.contact_id)
        .where(contact_quiet_hours.c.organization_id == apps.c.organization_id)
        .exists()
    )
    return (
        select(
            policy_broadcast.label("policy_broadcast"),
            contact_quiet.label("contact_quiet"),
            org_policies.c.time_zone.label("o_time_zone"),
            org_policies.c.quiet_start.label("o_quiet_start"),
            org_policies.c.quiet_end.label("o_quiet_end"),
            org_policies.c.cap_count.label("o_cap_count"),
            org_policies.c.cap_period_s.label("o_cap_period_s"),
            app_policies.c.quiet_start.label("a_quiet_start"),
            app_policies.c.quiet_end.label("a_quiet_end"),
            app_policies.c.cap_count.label("a_cap_count"),
            app_policies.c.cap_period_s.label("a_cap_period_s"),
        )
        .select_from(
            apps.outerjoin(app_policies, app_policies.c.app_id == apps.c.id).outerjoin(
                org_policies, org_policies.c.organization_id == apps.c.organization_id
            )
        )
        .where(apps.c.id == bindparam("app_id"))
    )


# Built once: it runs for every group of rows the worker checks, and building the
# statement and its cache key each time cost more than the query (0.9 ms per call).
_BOT_POLICIES = _bot_policies_statement()


def bot_policies(conn: Connection, app_id: int) -> Any:
    """The bot's overrides (``a_*``) and its organisation's defaults (``o_*``), and whether
    anything else could apply to its rows: a running broadcast that holds or sends at
    local times (``policy_broadcast``), a contact of the organisation with its own quiet
    hours (``contact_quiet``). None when the bot is gone."""
    return conn.execute(_BOT_POLICIES, {"app_id": app_id}).first()


def recipient_rows(conn: Connection, row_ids: Sequence[int]) -> dict[int, Any]:
    """Per row that has policies (every broadcast row; a transactional row that asked to
    respect quiet hours): its broadcast's policies, its contact's zone and quiet hours."""
    found: dict[int, Any] = {}
    for i in range(0, len(row_ids), _CHUNK):
        rows = conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.broadcast_id,
                deliveries.c.quiet_hours_policy.label("row_quiet_policy"),
                broadcasts.c.mute_policy,
                broadcasts.c.hold_until,
                broadcasts.c.quiet_hours_policy,
                broadcasts.c.local_time,
                broadcasts.c.local_date,
                contacts.c.time_zone,
                contact_quiet_hours.c.quiet_start,
                contact_quiet_hours.c.quiet_end,
            )
            .select_from(
                deliveries.outerjoin(broadcasts, broadcasts.c.id == deliveries.c.broadcast_id)
                .outerjoin(contacts, contacts.c.id == deliveries.c.contact_id)
                .outerjoin(
                    contact_quiet_hours,
                    contact_quiet_hours.c.contact_id == deliveries.c.contact_id,
                )
            )
            .where(
                deliveries.c.id.in_(list(row_ids[i : i + _CHUNK])),
                or_(
                    deliveries.c.broadcast_id.is_not(None),
                    deliveries.c.quiet_hours_policy.is_not(None),
                ),
            )
        )
        found.update({int(r.id): r for r in rows})
    return found


def sent_since(
    conn: Connection,
    app_id: int,
    tokens: Sequence[str],
    since: datetime,
    leave_out: Collection[int] = (),
) -> dict[str, int]:
    """Broadcast messages delivered to each chat since ``since`` (ix_deliveries_sent_chat),
    without the rows ``leave_out`` (the sender counts those itself: delivery/caps.py)."""
    counts: dict[str, int] = {}
    unique = sorted(set(tokens))
    excluded = sorted(leave_out)
    for i in range(0, len(unique), _CHUNK):
        query = (
            select(deliveries.c.token, func.count())
            .where(
                deliveries.c.app_id == app_id,
                deliveries.c.token.in_(unique[i : i + _CHUNK]),
                deliveries.c.broadcast_id.is_not(None),
                deliveries.c.status.in_((st.DELIVERED, st.CLICKED)),
                deliveries.c.finished_at > since,
            )
            .group_by(deliveries.c.token)
        )
        if excluded:
            query = query.where(deliveries.c.id.not_in(excluded))
        rows = conn.execute(query)
        counts.update({str(t): int(n) for t, n in rows})
    return counts

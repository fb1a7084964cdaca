"""Broadcasts: create, list, view with live counters, pause, resume, cancel. Never commits.

Recipients are not planned here: the delivery worker plans them (see planner.py), so
creating a broadcast for a million contacts is one INSERT.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.bots.service import resolve_app
from hushcast.broadcasts import policy_fields
from hushcast.broadcasts import repository as repo
from hushcast.broadcasts.schemas import BroadcastOut, BroadcastView
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.ids import positive_int
from hushcast.core.timeutil import iso, utcnow
from hushcast.delivery import status as st
from hushcast.delivery.wakeup import notify_work
from hushcast.yespo import throttle, throttle_service

MESSAGE_NOT_FOUND = "Message not found"
BROADCAST_NOT_FOUND = "Broadcast not found"
APP_ID_REQUIRED = "appId is required when the organisation has several bots"
NO_BOTS = "The organisation has no bots: connect one with POST /v1/apps"
BAD_START_DATE = "startDate must be YYYY-MM-DDTHH:mm"
MAX_TITLE = 300

_START_DATE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?Z?", re.ASCII)


# --- shared with sending ---------------------------------------------------------------------


def app_for_org(conn: Connection, org_id: int, app_uuid: Any) -> Any:
    """The bot named by appId, or the organisation's only bot when appId is absent."""
    if app_uuid is not None:
        return resolve_app(conn, org_id, app_uuid if isinstance(app_uuid, str) else repr(app_uuid))
    found = repo.apps_of_org(conn, org_id, limit=2)
    if not found:
        raise BadRequest(NO_BOTS)
    if len(found) > 1:
        raise BadRequest(APP_ID_REQUIRED)
    return found[0]


def require_message(conn: Connection, org_id: int, message_id: int) -> Any:
    row = repo.message_of_org(conn, org_id, message_id)
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return row


# --- body parsing ----------------------------------------------------------------------------


def parse_start_date(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(BAD_START_DATE)
    m = _START_DATE.fullmatch(value.strip())
    if m is None:
        raise BadRequest(BAD_START_DATE)
    try:
        return datetime.strptime(m.group(1) + (m.group(2) or ":00"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise BadRequest(BAD_START_DATE) from None


def _group_ids(body: dict[str, Any], name: str) -> list[int]:
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest(f"{name} must be an array of group ids")
    ids: list[int] = []
    for item in raw:
        gid = positive_int(item)
        if gid is None:
            raise BadRequest(f"{name} must be an array of group ids")
        ids.append(gid)
    return list(dict.fromkeys(ids))


def create(conn: Connection, org_id: int, body: dict[str, Any]) -> BroadcastOut:
    """Checks in order: body shape, message, app, groups, startDate; then one INSERT."""
    if body.get("messageId") is None:
        raise BadRequest("messageId is required")
    message_id = positive_int(body["messageId"])
    if message_id is None:
        raise BadRequest("messageId must be a positive integer")
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        raise BadRequest("title must be a string")
    if title is not None and len(title) > MAX_TITLE:
        raise BadRequest(f"title is longer than {MAX_TITLE} characters")
    included = _group_ids(body, "groups")
    excluded = _group_ids(body, "excludedGroups")
    throttled = throttle.parse(body)

    message = require_message(conn, org_id, message_id)
    app = app_for_org(conn, org_id, body.get("appId"))
    wanted = list(dict.fromkeys(included + excluded))
    known = repo.existing_group_ids(conn, org_id, wanted)
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise BadRequest("Unknown groups: " + ", ".join(str(g) for g in unknown))
    now = utcnow()
    policies, start_date = policy_fields.parse(
        body, parse_start_date(body.get("startDate")), now, parse_start_date
    )
    start = start_date or now

    title = (title.strip() if title else "") or message.name
    broadcast_id = repo.insert_broadcast(
        conn,
        {
            "organization_id": org_id,
            "app_id": app.id,
            "message_id": message.id,
            "title": title,
            "groups": included or None,
            "excluded_groups": excluded or None,
            "start_date": start,
            "status": st.B_SCHEDULED,
            "created_at": now,
            **policies,
        },
    )
    throttle_service.store(conn, broadcast_id, throttled)
    # Due now or later: the worker looks at once either way (and finds nothing to do yet
    # for a future start, which the poll picks up when it is due).
    notify_work(conn, int(app.id))
    return BroadcastOut(
        broadcastId=broadcast_id,
        title=title,
        messageId=int(message.id),
        groupId=included[0] if included else None,
        appId=app.uuid,
        startDate=iso(start),
        batchSize=throttled[0] if throttled else None,
        batchIntervalUnit=throttled[1] if throttled else None,
        status=st.B_SCHEDULED,
        **_policy_view(policies),
    )


def _policy_view(row: Any) -> dict[str, Any]:
    """The eligibility fields as the API shows them (defaults spelled out)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "mutePolicy": get("mute_policy") or "skip",
        "holdUntil": iso(get("hold_until")),
        "quietHoursPolicy": get("quiet_hours_policy") or "defer",
        "localTime": get("local_time"),
        "localDate": get("local_date"),
    }


# --- views -----------------------------------------------------------------------------------


def _view(
    row: Any, counts: dict[str, int], throttled: tuple[int, str] | None = None
) -> BroadcastView:
    return BroadcastView(
        broadcastId=int(row.id),
        title=row.title,
        messageId=int(row.message_id),
        groupId=int(row.groups[0]) if row.groups else None,
        appId=row.app_uuid,
        startDate=iso(row.start_date),
        batchSize=throttled[0] if throttled else None,
        batchIntervalUnit=throttled[1] if throttled else None,
        status=row.status,
        createdAt=iso(row.created_at),
        startedAt=iso(row.started_at),
        finishedAt=iso(row.finished_at),
        totalContacts=sum(counts.values()),
        inQueue=counts.get(st.IN_QUEUE, 0) + counts.get(st.SENDING, 0),
        delivered=counts.get(st.DELIVERED, 0) + counts.get(st.CLICKED, 0),
        clicked=counts.get(st.CLICKED, 0),
        unavailable=counts.get(st.UNAVAILABLE, 0),
        errors=counts.get(st.ERROR, 0),
        cancelled=counts.get(st.CANCELLED, 0),
        held=counts.get(st.HELD, 0),
        waiting=counts.get(st.WAITING, 0),
        **_policy_view(row),
    )


def _get(conn: Connection, org_id: int, broadcast_id: int, *, lock: bool = False) -> Any:
    row = repo.get_view(conn, org_id, broadcast_id, lock=lock)
    if row is None:
        raise NotFound(BROADCAST_NOT_FOUND)
    return row


def get(conn: Connection, org_id: int, broadcast_id: int) -> BroadcastView:
    row = _get(conn, org_id, broadcast_id)
    return _view(
        row,
        repo.status_counts(conn, [row.id]).get(int(row.id), {}),
        throttle_service.of_broadcasts(conn, [int(row.id)]).get(int(row.id)),
    )


def list_page(
    conn: Connection, org_id: int, offset: int, limit: int
) -> tuple[list[BroadcastView], int]:
    total = repo.count_for_org(conn, org_id)
    rows = repo.list_for_org(conn, org_id, offset, limit)
    ids = [int(r.id) for r in rows]
    counts = repo.status_counts(conn, ids)
    throttles = throttle_service.of_broadcasts(conn, ids)
    return [
        _view(r, counts.get(i, {}), throttles.get(i)) for r, i in zip(rows, ids, strict=True)
    ], total


# --- transitions -----------------------------------------------------------------------------


def _conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def cancel(conn: Connection, org_id: int, broadcast_id: int) -> BroadcastView:
    # The row lock orders this against a planner batch of the same broadcast: rows queued
    # by a batch that committed first are cancelled below; a later batch sees CANCELLED.
    row = _get(conn, org_id, broadcast_id, lock=True)
    if row.status == st.B_FINISHED:
        raise _conflict("Broadcast already finished")
    if row.status == st.B_CANCELLED:
        raise _conflict("Broadcast already cancelled")
    now = utcnow()
    repo.update_broadcast(conn, row.id, {"status": st.B_CANCELLED, "finished_at": now})
    repo.cancel_queued(conn, row.id, now)
    return get(conn, org_id, broadcast_id)


def pause(conn: Connection, org_id: int, broadcast_id: int) -> BroadcastView:
    row = _get(conn, org_id, broadcast_id, lock=True)
    if row.status not in (st.B_SCHEDULED, st.B_RUNNING):
        raise _conflict(
            f"Broadcast is {row.status}: only a scheduled or running broadcast can be paused"
        )
    repo.update_broadcast(conn, row.id, {"status": st.B_PAUSED})
    return get(conn, org_id, broadcast_id)


def resume(conn: Connection, org_id: int, broadcast_id: int) -> BroadcastView:
    row = _get(conn, org_id, broadcast_id, lock=True)
    if row.status != st.B_PAUSED:
        raise _conflict(f"Broadcast is {row.status}: only a paused broadcast can be resumed")
    status = st.B_RUNNING if row.started_at is not None else st.B_SCHEDULED
    repo.update_broadcast(conn, row.id, {"status": status})
    notify_work(conn, int(row.app_id))
    return get(conn, org_id, broadcast_id)

"""Reports: a broadcast's counters and contact lists (JSON pages or a streamed CSV), the
single report of transactional and test sends, and a message's totals. Never commits.

Every counter is derived from the outcome vocabulary of hushcast.delivery.status; the
definitions are in docs/outcomes.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.core.csvsafe import safe_row
from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.timeutil import iso, utcnow
from hushcast.delivery import status as st
from hushcast.messages import service as messages_service
from hushcast.reports import repository as repo
from hushcast.reports.repository import OutcomeCounts
from hushcast.reports.schemas import (
    BroadcastReportOut,
    MessageReportOut,
    ReportContact,
    ReportContactsPage,
    SingleReportItem,
    UnavailableOut,
)

BROADCAST_NOT_FOUND = "Broadcast not found"

MAX_ID = 2**63 - 1
EXPORT_PAGE = 5000
SINGLE_REPORT_DEFAULT_DAYS = 7

ALL_STATUSES: tuple[str, ...] = (
    st.IN_QUEUE,
    st.SENDING,
    st.DELIVERED,
    st.CLICKED,
    st.UNAVAILABLE,
    st.ERROR,
    st.CANCELLED,
    st.WAITING,
    st.HELD,
)

# Contact-list buckets of the broadcast report -> delivery statuses.
BUCKETS: dict[str, tuple[str, ...]] = {
    "all": ALL_STATUSES,
    "delivered": (st.DELIVERED, st.CLICKED),
    "clicked": (st.CLICKED,),
    "unavailable": (st.UNAVAILABLE,),
    "errors": (st.ERROR,),
    "inqueue": st.PENDING_STATUSES,
    "cancelled": (st.CANCELLED,),
    "held": (st.HELD,),
    "waiting": (st.WAITING,),
}
BAD_BUCKET = "bucket must be one of: " + ", ".join(BUCKETS)
FORMATS = ("json", "csv")
BAD_FORMAT = "format must be one of: " + ", ".join(FORMATS)

# Sends that count in a message's report (test sends are previews, not an audience).
MESSAGE_REPORT_KINDS = (st.KIND_BROADCAST, st.KIND_SMARTSEND)

CSV_HEADER = (
    "contactId",
    "externalCustomerId",
    "token",
    "status",
    "errorType",
    "errorName",
    "description",
    "at",
)

BAD_DATE = "{name} must be YYYY-MM-DD or YYYY-MM-DDTHH:mm (UTC)"
BAD_RANGE = "dateFrom must not be after dateTo"
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?)?Z?", re.ASCII)


# --- counters ----------------------------------------------------------------------------


def counters(counts: OutcomeCounts) -> dict[str, Any]:
    """The report counters from rows GROUP BY (status, error_type, error_name)."""
    by_status: dict[str, int] = {}
    by_type: dict[str, int] = {st.OTHER_ERRORS: 0}
    # Every skip of the eligibility pipeline has its bucket, shown even when empty.
    by_unavailable_name: dict[str, int] = {
        st.CHANNEL_WAS_MUTED: 0,
        st.TOKEN_INACTIVE: 0,
        st.QUIET_HOURS: 0,
        st.FREQUENCY_CAP: 0,
    }
    by_error_name: dict[str, int] = {st.BOT_SEND_ERROR: 0, st.SEND_FAILED: 0, st.TEMPLATE_ERROR: 0}
    for (status, error_type, error_name), n in counts.items():
        by_status[status] = by_status.get(status, 0) + n
        if status == st.UNAVAILABLE:
            etype = error_type or st.OTHER_ERRORS
            by_type[etype] = by_type.get(etype, 0) + n
            ename = error_name or "UNKNOWN"
            by_unavailable_name[ename] = by_unavailable_name.get(ename, 0) + n
        elif status == st.ERROR:
            ename = error_name or "UNKNOWN"
            by_error_name[ename] = by_error_name.get(ename, 0) + n
    delivered = by_status.get(st.DELIVERED, 0) + by_status.get(st.CLICKED, 0)
    return {
        "totalContacts": sum(counts.values()),
        "inQueue": by_status.get(st.IN_QUEUE, 0) + by_status.get(st.SENDING, 0),
        "sent": delivered + by_error_name[st.BOT_SEND_ERROR],
        "delivered": delivered,
        "clicked": by_status.get(st.CLICKED, 0),
        "errors": by_status.get(st.ERROR, 0),
        "unavailable": UnavailableOut(
            total=by_status.get(st.UNAVAILABLE, 0),
            byErrorType=by_type,
            byErrorName=by_unavailable_name,
        ),
        "errorsByName": by_error_name,
        "cancelled": by_status.get(st.CANCELLED, 0),
        "held": by_status.get(st.HELD, 0),
        "waiting": by_status.get(st.WAITING, 0),
    }


def _broadcast(conn: Connection, org_id: int, broadcast_id: int) -> Any:
    row = repo.broadcast_of_org(conn, org_id, broadcast_id) if 0 < broadcast_id <= MAX_ID else None
    if row is None:
        raise NotFound(BROADCAST_NOT_FOUND)
    return row


def broadcast_report(conn: Connection, org_id: int, broadcast_id: int) -> BroadcastReportOut:
    b = _broadcast(conn, org_id, broadcast_id)
    return BroadcastReportOut(
        broadcastId=int(b.id),
        status=b.status,
        startedAt=iso(b.started_at),
        finishedAt=iso(b.finished_at),
        **counters(repo.broadcast_outcomes(conn, int(b.id))),
    )


def message_report(conn: Connection, org_id: int, message_id: int) -> MessageReportOut:
    # The messages module's own check: unknown and other organisations' messages are 404.
    messages_service.get_message(conn, org_id, message_id)
    counts = repo.message_outcomes(conn, org_id, message_id, MESSAGE_REPORT_KINDS)
    return MessageReportOut(messageId=message_id, **counters(counts))


# --- report contacts ---------------------------------------------------------------------


def bucket_statuses(bucket: str) -> tuple[str, ...]:
    statuses = BUCKETS.get(bucket.strip().lower())
    if statuses is None:
        raise BadRequest(BAD_BUCKET)
    return statuses


def check_format(fmt: str) -> str:
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise BadRequest(BAD_FORMAT)
    return fmt


def _contact_values(row: Any) -> tuple[Any, ...]:
    """A report contact's values, in CSV_HEADER order (each column read once: this runs
    for every row of an export)."""
    status = row.status
    if status == st.CLICKED:
        at = row.clicked_at or row.finished_at
    elif status in st.PENDING_STATUSES:
        at = row.created_at
    else:
        at = row.finished_at
    contact_id = row.contact_id
    return (
        None if contact_id is None else int(contact_id),
        row.external_customer_id,
        row.token,
        status,
        row.error_type,
        row.error_name,
        row.description,
        iso(at),
    )


def _contact(row: Any) -> ReportContact:
    return ReportContact(**dict(zip(CSV_HEADER, _contact_values(row), strict=True)))


def report_contacts(
    conn: Connection, org_id: int, broadcast_id: int, bucket: str, offset: int, limit: int
) -> ReportContactsPage:
    statuses = bucket_statuses(bucket)
    b = _broadcast(conn, org_id, broadcast_id)
    total = repo.count_bucket(conn, int(b.id), statuses)
    rows = repo.bucket_page(conn, int(b.id), statuses, offset, limit) if total > offset else []
    return ReportContactsPage(items=[_contact(r) for r in rows], total=total)


def check_export(conn: Connection, org_id: int, broadcast_id: int, bucket: str) -> str:
    """Validates an export before the response starts; returns the canonical bucket name."""
    bucket_statuses(bucket)
    _broadcast(conn, org_id, broadcast_id)
    return bucket.strip().lower()


def export_filename(broadcast_id: int, bucket: str) -> str:
    return f"broadcast-{broadcast_id}-{bucket}.csv"


def export_csv(
    read: Callable[[], AbstractContextManager[Connection]],
    broadcast_id: int,
    bucket: str,
    page_size: int | None = None,
) -> Iterator[str]:
    """CSV text of every row of the bucket, one chunk per keyset page (EXPORT_PAGE rows).

    Each page is read in its own short transaction (``read()``), closed before the chunk is
    yielded: a slow client holds no transaction and no more than one page in memory, and a
    disconnect simply stops the iteration.
    """
    statuses = bucket_statuses(bucket)
    size = page_size or EXPORT_PAGE
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    last_id = 0
    while True:
        with read() as conn:
            rows = repo.bucket_after(conn, broadcast_id, statuses, last_id, size)
        # Contact fields come from clients: no cell may be a live formula (core/csvsafe).
        writer.writerows(safe_row(_contact_values(row)) for row in rows)
        if rows:
            last_id = int(rows[-1].id)
        chunk = buf.getvalue()
        buf.seek(0)
        buf.truncate(0)
        if chunk:
            yield chunk
        if len(rows) < size:
            return


# --- single report -----------------------------------------------------------------------


def _parse_date(value: str, name: str, *, end: bool) -> datetime:
    """A UTC date or minute; for the end of a range, the first moment after it."""
    m = _DATE.fullmatch(value.strip())
    if m is None:
        raise BadRequest(BAD_DATE.format(name=name))
    day, minute, seconds = m.groups()
    try:
        if minute is None:
            moment = datetime.strptime(day, "%Y-%m-%d")
            step = timedelta(days=1)
        elif seconds is None:
            moment = datetime.strptime(f"{day}T{minute}", "%Y-%m-%dT%H:%M")
            step = timedelta(minutes=1)
        else:
            moment = datetime.strptime(f"{day}T{minute}{seconds}", "%Y-%m-%dT%H:%M:%S")
            step = timedelta(seconds=1)
        return moment + step if end else moment
    except (ValueError, OverflowError):
        raise BadRequest(BAD_DATE.format(name=name)) from None


def date_range(date_from: str | None, date_to: str | None) -> tuple[datetime, datetime]:
    """[start, end) for dateFrom/dateTo, each inclusive at its own precision (a date-only
    dateTo is the whole day). Default: the 7 days up to now."""
    end = (
        _parse_date(date_to, "dateTo", end=True)
        if date_to
        else utcnow().replace(microsecond=0) + timedelta(seconds=1)
    )
    start = (
        _parse_date(date_from, "dateFrom", end=False)
        if date_from
        else end - timedelta(days=SINGLE_REPORT_DEFAULT_DAYS)
    )
    if start >= end:
        raise BadRequest(BAD_RANGE)
    return start, end


def _single_item(row: Any) -> SingleReportItem:
    failed = row.status in (st.ERROR, st.UNAVAILABLE)
    return SingleReportItem(
        requestId=row.request_id,
        externalRequestId=row.external_request_id,
        receiver=row.token,
        contactId=None if row.contact_id is None else int(row.contact_id),
        messageId=int(row.message_id),
        messageName=row.message_name,
        kind=row.kind,
        date=iso(row.created_at),
        status=st.public_status(row.status, row.error_name),
        error=(row.description or row.error_name) if failed else None,
    )


def single_report(
    conn: Connection,
    org_id: int,
    date_from: str | None,
    date_to: str | None,
    offset: int,
    limit: int,
) -> tuple[list[SingleReportItem], int]:
    start, end = date_range(date_from, date_to)
    total = repo.count_single(conn, org_id, start, end)
    rows = repo.single_page(conn, org_id, start, end, offset, limit) if total > offset else []
    return [_single_item(r) for r in rows], total


def contact_activity(conn: Connection, org_id: int, contact_id: int, limit: int = 50) -> list[Any]:
    """The contact's latest sends with their outcome (as the reports name them)."""
    return [
        {
            "kind": r.kind,
            "broadcastId": r.broadcast_id,
            "messageId": r.message_id,
            "messageName": r.message_name,
            "token": r.token,
            "status": st.public_status(r.status, r.error_name),
            "at": iso(r.clicked_at or r.finished_at or r.created_at),
        }
        for r in repo.contact_activity(conn, org_id, contact_id, limit)
    ]

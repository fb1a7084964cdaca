"""Dashboard logic: time zones, report counters, the outcome chart, CSV export.

Never commits: the routes open the transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from hushcast.broadcasts.schemas import BroadcastView
from hushcast.core.errors import BadRequest
from hushcast.core.timeutil import FOREVER, utcnow
from hushcast.delivery import status as st
from hushcast.mute import service as mute_service
from hushcast.reports import service as reports_service
from hushcast.reports.schemas import ReportContact
from hushcast.web import repository as web_repository

# --- time zones ------------------------------------------------------------------------------

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Warsaw",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Tbilisi",
    "Asia/Almaty",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)


def clean_tz(name: str | None) -> str:
    """A valid IANA zone name, or UTC."""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "UTC"
    return name


def zones_for(current: str) -> list[str]:
    return list(COMMON_ZONES) if current in COMMON_ZONES else [current, *COMMON_ZONES]


def parse_iso(value: str | None) -> datetime | None:
    """Our ISO strings (``...Z``) back to naive UTC."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def format_dt(value: datetime | str | None, tz: str) -> str:
    """A naive-UTC datetime (or our ISO string) in the viewer's zone; "forever" for FOREVER."""
    dt = parse_iso(value) if isinstance(value, str) else value
    if dt is None:
        return ""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    if dt >= FOREVER.replace(hour=0, minute=0, second=0):
        return "forever"
    local = dt.replace(tzinfo=UTC, microsecond=0).astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


# --- mute ------------------------------------------------------------------------------------

DURATIONS = (
    ("300", "5 min"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("forever", "Forever"),
    ("custom", "Custom (seconds)"),
)


def parse_ui_duration(choice: str | None, custom: str | None) -> int | None:
    """Seconds (None = forever) from the duration picker; BadRequest when out of range."""
    choice = (choice or "").strip()
    if choice == "forever":
        return None
    value = (custom or "").strip() if choice == "custom" else choice
    if not value:
        raise BadRequest("Enter a duration in seconds")
    return mute_service.parse_duration({"duration": value})


# --- reports ---------------------------------------------------------------------------------
# Counters, contact lists and the CSV come from hushcast.reports (the same as the API's).

# Chart segments: label and colour; the counts come from the report counters.
SEGMENTS = (
    ("Delivered", "#2e9e5b"),
    ("Clicked", "#1f6fd1"),
    ("Unavailable", "#e0a100"),
    ("Errors", "#d13b3b"),
    ("In queue", "#9aa5b1"),
    ("Cancelled", "#5b6470"),
)

LIVE_STATUSES = (st.B_RUNNING,)
# The broadcasts list polls these rows (a paused one may still have sends in flight).
ROW_LIVE_STATUSES = (st.B_SCHEDULED, st.B_RUNNING, st.B_PAUSED)
LIVE_AHEAD = timedelta(minutes=5)


@dataclass
class Segment:
    label: str
    color: str
    count: int
    percent: float
    dasharray: str = ""
    dashoffset: str = ""
    bar_x: float = 0.0
    bar_width: float = 0.0


@dataclass
class Breakdown:
    status: str
    error_type: str
    error_name: str
    count: int


@dataclass
class Report:
    view: BroadcastView
    counters: list[tuple[str, int]]
    segments: list[Segment]
    breakdown: list[Breakdown]
    unavailable: list[ReportContact]
    unavailable_total: int
    errors: list[ReportContact]
    errors_total: int
    live: bool
    can_pause: bool
    can_resume: bool
    can_cancel: bool
    progress_percent: int
    unavailable_page: int
    errors_page: int


DONUT_R = 60.0
DONUT_C = 2 * math.pi * DONUT_R
BAR_W = 600.0


def chart_segments(counts: dict[str, int]) -> list[Segment]:
    """Donut arcs and stacked-bar rectangles for the non-zero outcome counts (by label)."""
    total = sum(counts.values())
    segments: list[Segment] = []
    offset = 0.0
    bar_x = 0.0
    for label, color in SEGMENTS:
        n = counts.get(label, 0)
        if n <= 0 or total <= 0:
            continue
        frac = n / total
        length = frac * DONUT_C
        seg = Segment(label, color, n, round(frac * 100, 1))
        # One circle per segment: the dash draws the arc, the offset moves it round.
        seg.dasharray = f"{length:.3f} {DONUT_C - length:.3f}"
        seg.dashoffset = f"{-offset:.3f}"
        seg.bar_x = round(bar_x, 3)
        seg.bar_width = round(frac * BAR_W, 3)
        offset += length
        bar_x += frac * BAR_W
        segments.append(seg)
    return segments


def build_report(
    conn: Connection,
    org_id: int,
    view: BroadcastView,
    *,
    unavailable_page: int = 1,
    errors_page: int = 1,
    page_size: int = 50,
) -> Report:
    bid = view.broadcastId
    rep = reports_service.broadcast_report(conn, org_id, bid)
    un_page = max(1, unavailable_page)
    er_page = max(1, errors_page)
    unavailable = reports_service.report_contacts(
        conn, org_id, bid, "unavailable", (un_page - 1) * page_size, page_size
    )
    errors = reports_service.report_contacts(
        conn, org_id, bid, "errors", (er_page - 1) * page_size, page_size
    )
    counters = [
        ("Total", rep.totalContacts),
        ("In queue", rep.inQueue),
        ("Sent", rep.sent),
        ("Delivered", rep.delivered),
        ("Clicked", rep.clicked),
        ("Unavailable", rep.unavailable.total),
        ("Errors", rep.errors),
    ]
    if rep.cancelled:
        counters.append(("Cancelled", rep.cancelled))
    # Parked recipients: shown whenever the broadcast's policies can park any.
    if rep.held or view.mutePolicy == "hold":
        counters.append(("Held", rep.held))
    if rep.waiting or view.localTime:
        counters.append(("Waiting", rep.waiting))
    breakdown = [
        Breakdown(st.UNAVAILABLE, st.OTHER_ERRORS, name, n)
        for name, n in sorted(rep.unavailable.byErrorName.items(), key=lambda x: -x[1])
        if n
    ] + [
        Breakdown(st.ERROR, st.ERRORS, name, n)
        for name, n in sorted(rep.errorsByName.items(), key=lambda x: -x[1])
        if n
    ]
    segments = chart_segments(
        {
            "Delivered": rep.delivered - rep.clicked,
            "Clicked": rep.clicked,
            "Unavailable": rep.unavailable.total,
            "Errors": rep.errors,
            "In queue": rep.inQueue,
            "Cancelled": rep.cancelled,
        }
    )
    status = view.status
    in_flight = web_repository.sending_count(conn, bid) if status == st.B_PAUSED else 0
    done = rep.totalContacts - rep.inQueue - rep.held - rep.waiting
    return Report(
        view=view,
        counters=counters,
        segments=segments,
        breakdown=breakdown,
        unavailable=unavailable.items,
        unavailable_total=unavailable.total,
        errors=errors.items,
        errors_total=errors.total,
        live=is_live(status, rep.inQueue + rep.held + rep.waiting, in_flight, _due(view)),
        can_pause=status in (st.B_SCHEDULED, st.B_RUNNING),
        can_resume=status == st.B_PAUSED,
        can_cancel=status not in (st.B_FINISHED, st.B_CANCELLED),
        progress_percent=int(done * 100 / rep.totalContacts) if rep.totalContacts else 0,
        unavailable_page=un_page,
        errors_page=er_page,
    )


def is_live(status: str, in_queue: int, in_flight: int, due: bool) -> bool:
    """Whether the report keeps polling: while the counters can still change. Running (or
    due) broadcasts change; after a cancel the sends already handed to Telegram finish and
    the queue empties; after a pause the sends in flight finish (the rest stay queued)."""
    if status in LIVE_STATUSES or due:
        return True
    if status in (st.B_CANCELLED, st.B_FINISHED):
        return in_queue > 0
    if status == st.B_PAUSED:
        return in_flight > 0
    return False


def _due(view: BroadcastView) -> bool:
    """A scheduled broadcast that starts within a few minutes (or should have started)."""
    if view.status != st.B_SCHEDULED:
        return False
    start = parse_iso(view.startDate)
    return start is not None and start <= utcnow() + LIVE_AHEAD

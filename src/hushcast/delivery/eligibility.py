"""Who may be messaged, and when: the eligibility pipeline of a broadcast row.

Pure functions over facts the sender gathers (``Facts``); no I/O, no clock of its own
(``now`` is a fact). ``decide.before_send`` runs it for every broadcast row, so every
send passes the same checks in the same order (docs/policies.md):

    token active -> mute -> quiet hours -> frequency cap -> (render -> send)

A row of a local-time broadcast first waits for its recipient's local time; at that
moment it enters the pipeline like any other row.

Each step either lets the row through or ends it: skipped with its own error name,
held (mute policy ``hold``) or deferred to a moment (quiet hours ``defer``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hushcast.delivery import status as st

MUTE_SKIP = "skip"
MUTE_HOLD = "hold"
MUTE_POLICIES = (MUTE_SKIP, MUTE_HOLD)

QUIET_DEFER = "defer"
QUIET_SKIP = "skip"
QUIET_IGNORE = "ignore"
QUIET_POLICIES = (QUIET_DEFER, QUIET_SKIP, QUIET_IGNORE)

DEFAULT_ZONE = "UTC"
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)


def parse_hhmm(value: object) -> time | None:
    """'HH:MM' (24 h) as a time; None for anything else."""
    if not isinstance(value, str):
        return None
    m = _HHMM.fullmatch(value.strip())
    if m is None:
        return None
    return time(int(m.group(1)), int(m.group(2)))


def zone_or_default(name: str | None, default: str | None) -> ZoneInfo:
    """The contact's IANA zone; the organisation's default when unknown or invalid."""
    for candidate in (name, default, DEFAULT_ZONE):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return ZoneInfo(DEFAULT_ZONE)


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local wall-clock time; ``start > end`` spans midnight and
    ``start == end`` is an empty window (an override that turns quiet hours off)."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> QuietHours | None:
        s, e = parse_hhmm(start), parse_hhmm(end)
        if s is None or e is None:
            return None
        return cls(s, e)


def _utc_naive(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def quiet_until(now: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime | None:
    """If ``now`` (naive UTC) falls inside the quiet hours in ``zone``, the UTC moment
    they end; else None.

    Decided on the local wall clock, so a window keeps its local hours across a DST
    change (the night it happens is an hour shorter or longer in UTC). An end that
    falls in a DST gap (a wall time that does not exist that night) maps to the first
    instant after the gap.
    """
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.replace(tzinfo=UTC).astimezone(zone)
    t = local.time().replace(tzinfo=None)
    today = local.date()
    if quiet.start < quiet.end:
        if not quiet.start <= t < quiet.end:
            return None
        end_day = today
    elif t >= quiet.start:
        end_day = today + timedelta(days=1)
    elif t < quiet.end:
        end_day = today
    else:
        return None
    end = _utc_naive(datetime.combine(end_day, quiet.end, tzinfo=zone))
    # A DST gap can map the end to an instant at or before now; never defer backwards.
    return end if end > now else now + timedelta(minutes=1)


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` ``at`` o'clock in ``zone``, as naive UTC (in a DST gap: after the gap)."""
    return _utc_naive(datetime.combine(day, at, tzinfo=zone))


# Every zone's local `day at` lies between these two UTC instants (UTC+14 .. UTC-12).
EARLIEST_OFFSET = timedelta(hours=14)
LATEST_OFFSET = timedelta(hours=12)


def local_send_window(day: date, at: time) -> tuple[datetime, datetime]:
    """The UTC span in which ``day`` ``at`` o'clock happens somewhere: about 26 hours."""
    naive = datetime.combine(day, at)
    return naive - EARLIEST_OFFSET, naive + LATEST_OFFSET


class Verdict(enum.Enum):
    PASS = "pass"
    SKIP = "skip"  # finish UNAVAILABLE / Other errors / ``error_name``
    HOLD = "hold"  # HELD until the mute ends, at the latest ``until``
    WAIT = "wait"  # WAITING until ``until``


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    error_name: str | None = None
    description: str | None = None
    until: datetime | None = None


PASS = Outcome(Verdict.PASS)


@dataclass(frozen=True)
class Facts:
    """What the pipeline needs beyond the row's pre-send state, for a broadcast row."""

    now: datetime
    zone: ZoneInfo
    mute_policy: str = MUTE_SKIP
    hold_until: datetime | None = None
    quiet_policy: str = QUIET_DEFER
    quiet: QuietHours | None = None
    local_at: datetime | None = None  # the recipient's local send moment (local-time sends)
    cap: int | None = None  # at most this many broadcast messages per chat ...
    cap_period_s: int | None = None  # ... per rolling period
    sent_in_period: int = 0  # broadcast messages delivered to this chat in the period


def check_transactional(facts: Facts) -> Outcome:
    """A transactional row that asked to respect quiet hours: that step alone (mute and
    caps never apply to transactional messages)."""
    return _quiet_hours(facts) or PASS


def _quiet_hours(facts: Facts) -> Outcome | None:
    if facts.quiet_policy == QUIET_IGNORE:
        return None
    end = quiet_until(facts.now, facts.zone, facts.quiet)
    if end is None:
        return None
    if facts.quiet_policy == QUIET_SKIP:
        return Outcome(Verdict.SKIP, st.QUIET_HOURS, "Inside the recipient's quiet hours")
    return Outcome(Verdict.WAIT, until=end)


def check(facts: Facts, *, token_active: bool | None, muted_until: datetime | None) -> Outcome:
    """The pipeline for one broadcast row, in its fixed order."""
    now = facts.now
    if facts.local_at is not None and now < facts.local_at:
        return Outcome(Verdict.WAIT, until=facts.local_at)
    if token_active is False:
        return Outcome(Verdict.SKIP, st.TOKEN_INACTIVE, "The token was deactivated")
    if muted_until is not None:
        if facts.mute_policy == MUTE_HOLD and facts.hold_until is not None:
            if now < facts.hold_until:
                return Outcome(Verdict.HOLD, until=min(muted_until, facts.hold_until))
            return Outcome(
                Verdict.SKIP, st.CHANNEL_WAS_MUTED, "The chat was still muted at holdUntil"
            )
        return Outcome(
            Verdict.SKIP, st.CHANNEL_WAS_MUTED, "The chat was muted when the message was due"
        )
    quiet = _quiet_hours(facts)
    if quiet is not None:
        return quiet
    if facts.cap is not None and facts.sent_in_period >= facts.cap:
        return Outcome(
            Verdict.SKIP,
            st.FREQUENCY_CAP,
            f"The chat already got {facts.sent_in_period} broadcast messages "
            f"in the last {facts.cap_period_s} s (cap {facts.cap})",
        )
    return PASS

"""A broadcast's eligibility fields (docs/policies.md): mutePolicy, holdUntil,
quietHoursPolicy, localTime, localDate. Parsed and checked here; applied by the
delivery engine's pipeline (delivery/eligibility.py) to every row."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from hushcast.core.errors import BadRequest
from hushcast.delivery import eligibility as el

DEFAULT_HOLD = timedelta(hours=24)
MAX_HOLD = timedelta(days=7)
BAD_MUTE_POLICY = "mutePolicy must be skip or hold"
BAD_QUIET_POLICY = "quietHoursPolicy must be defer, skip or ignore"
BAD_HOLD_UNTIL = "holdUntil must be YYYY-MM-DDTHH:mm (UTC)"
HOLD_NEEDS_HOLD = "holdUntil needs mutePolicy hold"
HOLD_RANGE = "holdUntil must be after the start and at most 7 days after it"
BAD_LOCAL_TIME = "localTime must be HH:mm"
BAD_LOCAL_DATE = "localDate must be YYYY-MM-DD"
LOCAL_DATE_NEEDS_TIME = "localDate needs localTime"
LOCAL_WITH_START = "startDate and localTime cannot be combined: localTime sets the start"
LOCAL_PASSED = "localDate and localTime have passed in every time zone"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], error: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise BadRequest(error)
    return value.strip().lower()


def parse(
    body: dict[str, Any], start: datetime | None, now: datetime, parse_utc: Any
) -> tuple[dict[str, Any], datetime | None]:
    """The broadcast columns of these fields, and the start they imply (a local-time
    broadcast starts when its hour comes in the first time zone). ``start`` is the
    parsed startDate (None: now); ``parse_utc`` parses a startDate-like value."""
    mute_policy = _choice(body, "mutePolicy", el.MUTE_POLICIES, BAD_MUTE_POLICY)
    quiet_policy = _choice(body, "quietHoursPolicy", el.QUIET_POLICIES, BAD_QUIET_POLICY)
    raw_hold = body.get("holdUntil")
    hold_until: datetime | None = None
    if raw_hold is not None:
        if mute_policy != el.MUTE_HOLD:
            raise BadRequest(HOLD_NEEDS_HOLD)
        try:
            hold_until = parse_utc(raw_hold)
        except BadRequest:
            raise BadRequest(BAD_HOLD_UNTIL) from None

    local_time = body.get("localTime")
    local_date = body.get("localDate")
    if local_time is not None:
        if el.parse_hhmm(local_time) is None:
            raise BadRequest(BAD_LOCAL_TIME)
        local_time = local_time.strip()
        if start is not None:
            raise BadRequest(LOCAL_WITH_START)
        if local_date is None:
            day = now.date()
        else:
            if not isinstance(local_date, str) or not _DATE.fullmatch(local_date.strip()):
                raise BadRequest(BAD_LOCAL_DATE)
            try:
                day = date.fromisoformat(local_date.strip())
            except ValueError:
                raise BadRequest(BAD_LOCAL_DATE) from None
        at = el.parse_hhmm(local_time)
        assert at is not None
        first, last = el.local_send_window(day, at)
        if last <= now:
            raise BadRequest(LOCAL_PASSED)
        # Planned when the hour comes in the first zone; a recipient whose hour has
        # already passed gets the message at once.
        start = max(first, now)
        local_date = day.isoformat()
    elif local_date is not None:
        raise BadRequest(LOCAL_DATE_NEEDS_TIME)

    begins = start or now
    if mute_policy == el.MUTE_HOLD:
        if hold_until is None:
            hold_until = begins + DEFAULT_HOLD
        elif not begins < hold_until <= begins + MAX_HOLD:
            raise BadRequest(HOLD_RANGE)
    columns = {
        "mute_policy": mute_policy,
        "hold_until": hold_until,
        "quiet_hours_policy": quiet_policy,
        "local_time": local_time,
        "local_date": local_date,
    }
    return columns, start

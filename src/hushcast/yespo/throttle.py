"""Broadcast throttling (Yespo's ``batchSize`` with ``batchIntervalUnit``): at most
``batch_size`` recipients per interval, on top of Telegram's own limits. Pure functions.

Windows are counted from the broadcast's start: recipient number ``n`` (0-based, in
planning order, skipped inactive tokens not counted) may be sent from the start of
window ``n // batch_size``. MINUTE, HOUR and DAY windows are fixed lengths; MONTH
windows are calendar months from the start (the 31st falls back to a month's last day).
A paused broadcast's windows keep running.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from hushcast.core.errors import BadRequest
from hushcast.core.ids import ascii_int

UNITS: dict[str, timedelta | None] = {
    "MINUTE": timedelta(minutes=1),
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
    "MONTH": None,
}
MAX_BATCH_SIZE = 10_000_000
BAD_UNIT = "batchIntervalUnit must be one of MINUTE, HOUR, DAY, MONTH"
BAD_SIZE = "batchSize must be a positive integer"
SIZE_REQUIRED = "batchSize is required with batchIntervalUnit"


def parse(body: dict[str, Any]) -> tuple[int, str] | None:
    """(batch_size, unit) from a NewBroadcastRequest, None when not throttled."""
    size, unit = body.get("batchSize"), body.get("batchIntervalUnit")
    if size is None and unit is None:
        return None
    if size is None:
        raise BadRequest(SIZE_REQUIRED)
    if isinstance(size, str) and (ascii_int(size.strip()) is not None):
        size = int(size.strip())
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH_SIZE:
        raise BadRequest(BAD_SIZE)
    if not isinstance(unit, str) or unit.strip().upper() not in UNITS:
        raise BadRequest(BAD_UNIT)
    return size, unit.strip().upper()


def _add_months(start: datetime, months: int) -> datetime:
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def window_start(start: datetime, unit: str, window: int) -> datetime:
    """Start of the ``window``-th interval (0 = the broadcast's start)."""
    step = UNITS[unit]
    if step is None:
        return _add_months(start, window)
    return start + step * window


def available_at(start: datetime, unit: str, batch_size: int, position: int) -> datetime:
    """When the recipient at ``position`` (0-based) may be sent."""
    return window_start(start, unit, position // batch_size)


def windows(
    start: datetime, unit: str, batch_size: int, first_position: int, count: int
) -> list[tuple[int, int, datetime]]:
    """The recipients ``first_position .. first_position + count - 1`` split by window:
    (offset into them, how many, available from), in order."""
    out = []
    i = 0
    while i < count:
        pos = first_position + i
        window = pos // batch_size
        n = min(count - i, (window + 1) * batch_size - pos)
        out.append((i, n, window_start(start, unit, window)))
        i += n
    return out

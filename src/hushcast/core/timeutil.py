"""UTC time helpers. The database stores naive UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FOREVER = datetime(9999, 12, 31, 23, 59, 59)

# Moves the service's clock (API and in-process worker alike) so that tests of quiet
# hours, local-time sends and hold deadlines do not sleep (tests/support/clock.py).
# Zero in production: nothing but the tests sets it.
_offset = timedelta(0)


def set_clock_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def clock_offset() -> timedelta:
    return _offset


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, whole seconds."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.replace(microsecond=0).isoformat() + "Z"

"""UTC time helpers. The database stores naive UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

FOREVER = datetime(9999, 12, 31, 23, 59, 59)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, whole seconds."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.replace(microsecond=0).isoformat() + "Z"

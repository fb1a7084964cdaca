"""A controllable clock for the service under test (API and in-process worker alike):
``core.timeutil.utcnow`` adds an offset, so quiet hours, local-time sends, timed mutes
and hold deadlines are tested without sleeping. Real time still flows from the moment
set; only the offset changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hushcast.core import timeutil


class Clock:
    def now(self) -> datetime:
        return timeutil.utcnow()

    def set(self, at: datetime) -> None:
        """The service's clock reads ``at`` (naive UTC) now."""
        real = datetime.now(UTC).replace(tzinfo=None)
        timeutil.set_clock_offset(at - real)

    def advance(self, delta: timedelta) -> None:
        timeutil.set_clock_offset(timeutil.clock_offset() + delta)

    def reset(self) -> None:
        timeutil.set_clock_offset(timedelta(0))

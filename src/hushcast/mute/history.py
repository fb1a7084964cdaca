"""A chat's mute history: each mute, unmute and the end of each timed mute. Never commits.

Mutes and unmutes are stored as they happen (``mute_events``); the end of a timed mute
is not a write, so its ``expire`` entry is derived here: a timed mute that was not
replaced or lifted before its mutedUntil ended then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import BadRequest
from hushcast.core.timeutil import FOREVER, iso, utcnow
from hushcast.mute import actors
from hushcast.mute import repository as repo
from hushcast.mute.schemas import MuteChangeOut


def parse_when(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time (UTC unless it says otherwise), or None."""
    if value is None or value == "":
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name}: not an ISO 8601 date or date-time") from exc
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _change(
    at: datetime, kind: str, by: str | None, old: datetime | None, new: datetime | None
) -> MuteChangeOut:
    return MuteChangeOut.model_validate(
        {"at": iso(at), "kind": kind, "by": by, "from": iso(old), "to": iso(new)}
    )


def _changes(rows: list[Any], now: datetime) -> list[tuple[datetime, MuteChangeOut]]:
    out: list[tuple[datetime, MuteChangeOut]] = []
    for i, r in enumerate(rows):
        old = r.old_muted_until
        if old is not None and old <= r.at:
            old = None  # that mute had already ended (its expire entry comes before)
        out.append(
            (
                r.at,
                _change(
                    r.at,
                    r.action,
                    actors.describe(r.source, r.api_key_id),
                    old,
                    r.new_muted_until,
                ),
            )
        )
        until = r.new_muted_until
        if r.action != "mute" or until is None or until >= FOREVER:
            continue
        next_at = rows[i + 1].at if i + 1 < len(rows) else None
        if until <= now and (next_at is None or next_at > until):
            out.append(
                (
                    until,
                    _change(until, "expire", actors.EXPIRY, until, None),
                )
            )
    return out


def history(
    conn: Connection,
    app_id: int,
    token: str,
    start: datetime | None,
    end: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[MuteChangeOut], int]:
    """The changes with ``start <= at <= end``, oldest first, and how many there are."""
    if start is not None and end is not None and start > end:
        raise BadRequest("from must not be after to")
    changes = [
        c
        for at, c in _changes(repo.history_all(conn, app_id, token), utcnow())
        if (start is None or at >= start) and (end is None or at <= end)
    ]
    return changes[offset : offset + limit], len(changes)

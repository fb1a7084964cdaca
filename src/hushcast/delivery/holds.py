"""Held recipients (``mutePolicy: hold``) and other parked rows: how they come back.

A held row is not polled: it is HELD with ``available_at`` = the earlier of its mute's
end and the broadcast's ``holdUntil``, found only through a partial index. It comes
back to the queue (and through the whole pre-send pipeline again) when:

- a mute ends early: :func:`release` — call it from **every** path that ends or
  replaces a mute (unmute, a new shorter mute, a dialog guard's window closing); the
  API's mute releases in its own statement (``RELEASE_HELD_CTE_PG``, mute/repository.py);
- its moment comes: :func:`release_due`, run by the worker before each claim (a timed
  mute expiring, the ``holdUntil`` deadline; also WAITING rows whose quiet hours ended
  or whose local time came).

Still muted when it comes back: held again until the new end, or, at ``holdUntil``,
``UNAVAILABLE / CHANNEL_WAS_MUTED``. A cancel ends parked rows as ``CANCELLED``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from hushcast.core.timeutil import utcnow
from hushcast.delivery import policy_repository as repo
from hushcast.delivery.wakeup import notify_work


def release(
    conn: Connection, app_id: int, tokens: Sequence[str], now: datetime | None = None
) -> int:
    """The mute of these chats ended (or changed): their held rows are due now, in the
    caller's transaction. Returns how many rows were released."""
    if not tokens:
        return 0
    released = repo.release_held(conn, [str(t) for t in tokens], now or utcnow(), app_id=app_id)
    if released:
        notify_work(conn, app_id)
    return released


# Rows brought back per sweep: many claims' worth (a claim is at most WORKER_BATCH_SIZE),
# few enough that the claim transaction it runs in stays in the milliseconds.
DUE_PER_SWEEP = 5000


def release_due(conn: Connection, app_id: int, now: datetime, limit: int = DUE_PER_SWEEP) -> int:
    """Parked rows of the bot whose moment has come, back to the queue (at most ``limit``
    per call: the rest come with the next claims)."""
    return repo.release_due(conn, app_id, now, limit)

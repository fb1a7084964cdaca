"""Write transactions that retry when a concurrent request won a race.

Identifiers are unique in the database (contacts per organisation, tokens per bot,
group memberships), so two requests creating the same thing at once cannot both
succeed: the second one's INSERT fails with a unique violation once the first commits.
Running the whole transaction again then sees the committed row and updates it
instead, so both requests succeed and agree. When the race keeps being lost, the
client gets a clean 409 with ``Retry-After`` (never a 500).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from hushcast.core.db import Database
from hushcast.core.errors import CONFLICT, ApiError

T = TypeVar("T")

RETRY_ATTEMPTS = 5
# PostgreSQL: serialization_failure, deadlock_detected.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class Conflict(ApiError):
    """409 for a race that kept being lost; the client may simply retry."""

    def __init__(self, detail: str = CONFLICT) -> None:
        super().__init__(409, detail, {"Retry-After": "1"})


def is_retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def run_transaction(
    db: Database, work: Callable[[Connection], T], attempts: int = RETRY_ATTEMPTS
) -> T:
    """``work`` in a write transaction, run again (from scratch, in a new transaction)
    when it lost a race on a unique key; ``Conflict`` after ``attempts`` losses."""
    for attempt in range(attempts):
        try:
            with db.transaction() as conn:
                return work(conn)
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if attempt + 1 < attempts:
                time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
    raise Conflict()

"""SQL the dashboard needs that no other module offers: one token row, the sends in flight
(sessions: see session_repository.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import repository as contacts_repository
from hushcast.delivery import status as st
from hushcast.reports import repository as reports_repository


def token_row(conn: Connection, app_id: int, token: str, now: datetime) -> Any:
    """One subscriber row as the subscribers page shows it (same columns as list_tokens)."""
    return contacts_repository.get_token(conn, app_id, token, now)


def sending_count(conn: Connection, broadcast_id: int) -> int:
    """Recipients of the broadcast being sent right now (handed to the sender)."""
    return reports_repository.count_bucket(conn, broadcast_id, (st.SENDING,))

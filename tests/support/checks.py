"""Checks: row counts and snapshots of every table, problem+json answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hushcast.core.db import Database
from hushcast.models import metadata


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table (settings_kv included): a request that changed nothing keeps these."""
    with db.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def table_snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), for "nothing changed at all" comparisons."""
    with db.read() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
        }


def assert_problem(response: Any, status: int | tuple[int, ...] = 400) -> str:
    """A problem+json answer with the status and a useful detail; returns the detail."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers.get("content-type"),
        response.text[:300],
    )
    body = response.json()
    assert body["status"] == response.status_code
    detail = body["detail"]
    # Yespo clients read the text from a leading "message" member.
    assert next(iter(body)) == "message" and body["message"] == detail, body
    assert isinstance(detail, str) and detail.strip(), body
    assert detail != "Internal error", body
    return detail


@dataclass
class World:
    """One of each object of org "acme", to aim bad requests at."""

    app: str
    message: int
    group: int
    contact: int
    broadcast: int

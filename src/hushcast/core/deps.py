"""FastAPI dependencies: database connections with request-scoped transactions.

Authentication (the API key, the principal) lives in ``hushcast.orgs.deps``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from hushcast.core.db import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _write_conn(request: Request) -> Iterator[Connection]:
    # Commits when the endpoint returns, before the response is sent
    # (scope="function" below), so a 2xx always means the change is durable.
    with get_db(request).transaction() as conn:
        yield conn


def _read_conn(request: Request) -> Iterator[Connection]:
    with get_db(request).read() as conn:
        yield conn


WriteConn = Annotated[Connection, Depends(_write_conn, scope="function")]
ReadConn = Annotated[Connection, Depends(_read_conn, scope="function")]
DbDep = Annotated[Database, Depends(get_db)]

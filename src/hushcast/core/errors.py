"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("hushcast.api")

PROBLEM_JSON = "application/problem+json"
FASTAPI_BODY_ERROR = "There was an error parsing the body"
OUT_OF_RANGE = "A number in the request is out of range"
BAD_VALUE = "A value in the request cannot be stored (out of range or invalid characters)"
CONFLICT = "The request conflicted with a concurrent change of the same data; retry it"


class ApiError(Exception):
    """An error answered to the client as a problem document; the transaction rolls back."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class BadRequest(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


class NotFound(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


MAX_ID = 2**63 - 1


def check_id(value: int, not_found: str) -> int:
    """A path id the database can hold, else 404 (no such object can exist)."""
    if not 0 < value <= MAX_ID:
        raise NotFound(not_found)
    return value


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    # ``message`` first: Yespo clients read the error text from a leading "message"
    # field (or from the start of the body text); the RFC 9457 members follow.
    body: dict[str, Any] = {
        "message": detail,
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if item in ("body", "query", "path", "header") and not parts:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def describe_validation_errors(errors: list[Any]) -> str:
    msgs = []
    for err in errors[:5]:
        where = _loc(tuple(err.get("loc", ())))
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            return "Request body is not valid JSON"
        msgs.append(f"{where}: {msg}" if where else msg)
    return "; ".join(msgs)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if detail == FASTAPI_BODY_ERROR:
            # FastAPI's answer to a body json.loads gave up on (e.g. nested too deeply).
            detail = "Request body is not valid JSON (or is nested too deeply)"
        return problem(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, describe_validation_errors(list(exc.errors())))

    @app.exception_handler(OperationalError)
    async def _db_down(_req: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        return problem(503, "Database unavailable, try again", {"Retry-After": "1"})

    # Safety nets for values the database cannot hold (an id beyond 64 bits, a NUL in text
    # on PostgreSQL): the client's input is at fault, so a 400, never a 500.
    @app.exception_handler(OverflowError)
    async def _overflow(_req: Request, exc: OverflowError) -> JSONResponse:
        log.info("number out of range in request: %s", type(exc).__name__)
        return problem(400, OUT_OF_RANGE)

    @app.exception_handler(DataError)
    async def _db_data_error(_req: Request, exc: DataError) -> JSONResponse:
        log.info("value rejected by the database: %s", type(exc.orig).__name__)
        return problem(400, BAD_VALUE)

    # A unique key (or a row another request just deleted) lost a race with a concurrent
    # request: the client may retry, and the retry sees the committed state.
    @app.exception_handler(IntegrityError)
    async def _db_conflict(_req: Request, exc: IntegrityError) -> JSONResponse:
        log.info("conflict with a concurrent change: %s", type(exc.orig).__name__)
        return problem(409, CONFLICT, {"Retry-After": "1"})

    @app.exception_handler(DBAPIError)
    async def _db_error(_req: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return problem(503, "Database unavailable, try again", {"Retry-After": "1"})
        log.exception("database error")
        return problem(500, "Internal error")

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", type(exc).__name__)
        return problem(500, "Internal error")

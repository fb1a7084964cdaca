"""Subscribers of one bot: search, filters, mute and unmute (one row or many at once),
and each subscriber's mute history. The CSV import is in screens/imports.py."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from hushcast.bots import service as bots_service
from hushcast.contacts import service as contacts_service
from hushcast.contacts.repository import TOKEN_FILTERS
from hushcast.core.chat_ids import parse_chat_id
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.mute import fence
from hushcast.mute import history as mute_history
from hushcast.mute import service as mute_service
from hushcast.mute.actors import DASHBOARD as BY_UI
from hushcast.web import repository as repo
from hushcast.web import service
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    app_or_404,
    is_htmx,
    pages,
    render,
    router,
    safe_next,
    tz_of,
)

SUBSCRIBERS_PAGE = 50
MAX_SELECTED = 500
FILTERS = (("", "All"), ("muted", "Muted now"), ("active", "Active"), ("blocked", "Blocked"))


def _token_view(
    token: str,
    external_customer_id: str | None,
    phone: str | None,
    email: str | None,
    active: bool,
    muted_until: Any,
    tz: str,
) -> dict[str, Any]:
    identifiers = [
        (label, value)
        for label, value in (
            ("externalCustomerId", external_customer_id),
            ("phone", phone),
            ("email", email),
        )
        if value
    ]
    return {
        "token": token,
        "identifiers": identifiers,
        "active": bool(active),
        "muted": muted_until is not None,
        "muted_until": service.format_dt(muted_until, tz) if muted_until else "",
    }


@router.get("/apps/{app_uuid}")
def subscribers_page(
    request: Request,
    session: SessionDep,
    app_uuid: str,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    tz = tz_of(request)
    search = q.strip() or None
    status = status if status in TOKEN_FILTERS else ""
    with get_db(request).read() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        app = bots_service.get_app(conn, session.principal.organization_id, app_row.uuid)
        items, total = contacts_service.list_tokens(
            conn,
            int(app_row.id),
            (page - 1) * SUBSCRIBERS_PAGE,
            SUBSCRIBERS_PAGE,
            search,
            status or None,
        )
    base = urlencode({k: v for k, v in (("q", q), ("status", status)) if v})
    query = base + (f"&page={page}" if base and page > 1 else (f"page={page}" if page > 1 else ""))
    rows = [
        _token_view(t.token, t.externalCustomerId, t.phone, t.email, t.active, t.mutedUntil, tz)
        for t in items
    ]
    return render(
        request,
        session,
        "subscribers.html",
        app=app,
        rows=rows,
        q=q,
        status=status,
        filters=FILTERS,
        durations=service.DURATIONS,
        paging=pages(total, page, SUBSCRIBERS_PAGE),
        query_base=base,
        ok=done[:200] or None,
        back=f"/ui/apps/{app.appUuid}" + (f"?{query}" if query else ""),
    )


def _row_response(
    request: Request,
    session: UISession,
    app_uuid: str,
    token: str,
    error: str | None = None,
    back: str | None = None,
) -> Response:
    if not is_htmx(request):
        if error:
            raise ApiError(400, error)
        return RedirectResponse(safe_next(back or f"/ui/apps/{app_uuid}"), status_code=303)
    tz = tz_of(request)
    with get_db(request).read() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        row = repo.token_row(conn, int(app_row.id), token, utcnow())
    if row is None:
        raise NotFound("Token not found")
    view = _token_view(
        row.token,
        row.external_customer_id,
        row.phone,
        row.email,
        row.active,
        row.muted_until,
        tz,
    )
    return render(
        request,
        session,
        "_token_row.html",
        app_uuid=app_row.uuid,
        r=view,
        durations=service.DURATIONS,
        row_error=error,
    )


HISTORY_PAGE = 100


@router.get("/apps/{app_uuid}/history")
def mute_history_page(
    request: Request,
    session: SessionDep,
    app_uuid: str,
    token: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """One subscriber's mute history (the API's GET .../token/mute/history), newest first."""
    tz = tz_of(request)
    with get_db(request).read() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        app = bots_service.get_app(conn, session.principal.organization_id, app_row.uuid)
        clean = parse_chat_id(token, "token")
        changes, total = mute_history.history(
            conn, int(app_row.id), clean, None, None, 0, HISTORY_PAGE
        )
    rows = [
        {
            "at": service.format_dt(c.at, tz),
            "kind": c.kind,
            "by": c.by or "",
            "from": service.format_dt(c.from_, tz) if c.from_ else "",
            "to": service.format_dt(c.to, tz) if c.to else "",
        }
        for c in reversed(changes)
    ]
    return render(
        request, session, "mute_history.html", app=app, token=clean, rows=rows, total=total
    )


@router.post("/apps/{app_uuid}/mute")
def mute_token(
    request: Request,
    session: CsrfSession,
    app_uuid: str,
    token: Annotated[str, Form(min_length=1, max_length=64)],
    duration: Annotated[str, Form(max_length=20)] = "forever",
    custom: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    error: str | None = None
    wait = 0.0
    with get_db(request).transaction() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        clean = parse_chat_id(token, "token")
        try:
            seconds = service.parse_ui_duration(duration, custom)
        except ApiError as exc:
            error = exc.detail
        else:
            mute_service.mute(
                conn, int(app_row.id), [clean], seconds, session.principal.api_key_id, source=BY_UI
            )
            wait = fence.wait_after_mute(conn, request.app.state.settings, app_id=int(app_row.id))
    time.sleep(wait)  # as the API's mute, once committed (mute/fence.py)
    return _row_response(request, session, app_row.uuid, clean, error, back)


@router.post("/apps/{app_uuid}/unmute")
def unmute_token(
    request: Request,
    session: CsrfSession,
    app_uuid: str,
    token: Annotated[str, Form(min_length=1, max_length=64)],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    with get_db(request).transaction() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        clean = parse_chat_id(token, "token")
        mute_service.unmute(
            conn, int(app_row.id), [clean], session.principal.api_key_id, source=BY_UI
        )
    return _row_response(request, session, app_row.uuid, clean, None, back)


@router.post("/apps/{app_uuid}/bulk")
def bulk_action(
    request: Request,
    session: CsrfSession,
    app_uuid: str,
    action: Annotated[str, Form(max_length=10)] = "",
    token: Annotated[list[str] | None, Form(max_length=MAX_SELECTED)] = None,
    duration: Annotated[str, Form(max_length=20)] = "forever",
    custom: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Mutes or unmutes the selected subscribers at once (the API's bulk mute/unmute)."""
    chosen = [t for t in (token or []) if t.strip()]
    if not chosen:
        raise BadRequest("Select at least one subscriber")
    if action not in ("mute", "unmute"):
        raise BadRequest("Choose Mute or Unmute")
    with get_db(request).transaction() as conn:
        app_row = app_or_404(conn, session.principal.organization_id, app_uuid)
        tokens = list(dict.fromkeys(parse_chat_id(t, "token") for t in chosen))
        key_id = session.principal.api_key_id
        wait = 0.0
        if action == "mute":
            seconds = service.parse_ui_duration(duration, custom)
            mute_service.mute(conn, int(app_row.id), tokens, seconds, key_id, source=BY_UI)
            wait = fence.wait_after_mute(conn, request.app.state.settings, app_id=int(app_row.id))
        else:
            mute_service.unmute(conn, int(app_row.id), tokens, key_id, source=BY_UI)
    time.sleep(wait)  # as the API's mute, once committed (mute/fence.py)
    verb = "Muted" if action == "mute" else "Unmuted"
    target = safe_next(back or f"/ui/apps/{app_row.uuid}")
    sep = "&" if "?" in target else "?"
    note = urlencode({"done": f"{verb} {len(tokens)} subscriber{'s' if len(tokens) != 1 else ''}"})
    return RedirectResponse(f"{target}{sep}{note}", status_code=303)

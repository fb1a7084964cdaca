"""Broadcasts: the list (running rows refresh themselves), the new-broadcast form, the
live report with pause, resume and cancel, and the report's CSV export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hushcast.bots import service as bots_service
from hushcast.broadcasts import service as broadcasts_service
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.groups import service as groups_service
from hushcast.messages import service as messages_service
from hushcast.reports import service as reports_service
from hushcast.web import service
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    check_id,
    org_of,
    pages,
    redirect,
    render,
    router,
    tz_of,
)

LIST_PAGE = 20
REPORT_TABLE_PAGE = 50
PICK_LIMIT = 500
UNITS = ("MINUTE", "HOUR", "DAY", "MONTH")


@router.get("/broadcasts")
def broadcasts_page(
    request: Request,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        items, total = broadcasts_service.list_page(conn, org_id, (page - 1) * LIST_PAGE, LIST_PAGE)
        apps = {a.appUuid: a for a in bots_service.list_apps(conn, org_id)}
    return render(
        request,
        session,
        "broadcasts.html",
        broadcasts=items,
        apps=apps,
        live_statuses=service.ROW_LIVE_STATUSES,
        paging=pages(total, page, LIST_PAGE),
        query_base="",
    )


@router.get("/broadcasts/{broadcast_id}/row")
def broadcast_row(request: Request, session: SessionDep, broadcast_id: int) -> Response:
    """One row of the list, polled while the broadcast is scheduled, running or settling."""
    org_id = org_of(session)
    with get_db(request).read() as conn:
        b = broadcasts_service.get(conn, org_id, check_id(broadcast_id))
        apps = {a.appUuid: a for a in bots_service.list_apps(conn, org_id)}
    return render(
        request,
        session,
        "_broadcast_row.html",
        b=b,
        apps=apps,
        live_statuses=service.ROW_LIVE_STATUSES,
    )


def _new_form(
    request: Request,
    session: UISession,
    form: dict[str, Any],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        messages, _ = messages_service.list_messages(conn, org_id, None, 0, PICK_LIMIT)
        apps = bots_service.list_apps(conn, org_id)
        groups, _ = groups_service.list_groups(conn, org_id, 0, PICK_LIMIT)
    return render(
        request,
        session,
        "broadcast_new.html",
        status_code=status,
        form=form,
        errors=errors or {},
        messages=messages,
        apps=apps,
        groups=groups,
        units=UNITS,
    )


@router.get("/broadcasts/new")
def new_broadcast(
    request: Request,
    session: SessionDep,
    message: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Response:
    form = {"message_id": str(message or ""), "when": "now", "groups": [], "excluded": []}
    return _new_form(request, session, form)


def _local_to_utc(value: str, tz: str) -> datetime:
    """The browser's local date-time (``YYYY-MM-DDTHH:MM``) in ``tz`` as naive UTC."""
    local = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


_FIELD_OF = (
    ("messageId", "message_id"),
    ("message", "message_id"),
    ("Message", "message_id"),
    ("app", "app_uuid"),
    ("Not registered", "app_uuid"),
    ("Unknown groups", "groups"),
    ("excludedGroups", "excluded"),
    ("groups", "groups"),
    ("title", "title"),
    ("batch", "throttle"),
    ("startDate", "start"),
)


def _field_of(detail: str) -> str:
    for needle, name in _FIELD_OF:
        if needle in detail:
            return name
    return "form"


@router.post("/broadcasts/new")
def create_broadcast(
    request: Request,
    session: CsrfSession,
    message_id: Annotated[str, Form(max_length=25)] = "",
    app_uuid: Annotated[str, Form(max_length=100)] = "",
    title: Annotated[str, Form(max_length=1000)] = "",
    groups: Annotated[list[str] | None, Form(max_length=PICK_LIMIT)] = None,
    excluded: Annotated[list[str] | None, Form(max_length=PICK_LIMIT)] = None,
    when: Annotated[str, Form(max_length=10)] = "now",
    start_local: Annotated[str, Form(max_length=40)] = "",
    batch_size: Annotated[str, Form(max_length=20)] = "",
    batch_unit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The API's POST /v1/broadcast; a scheduled time is the viewer's local time."""
    tz = tz_of(request)
    form = {
        "message_id": message_id,
        "app_uuid": app_uuid,
        "title": title,
        "groups": groups or [],
        "excluded": excluded or [],
        "when": when,
        "start_local": start_local,
        "batch_size": batch_size,
        "batch_unit": batch_unit,
    }
    errors: dict[str, str] = {}
    body: dict[str, Any] = {
        "messageId": int(message_id) if message_id.isdigit() else None,
        "appId": app_uuid or None,
        "title": title.strip() or None,
        "groups": [int(g) for g in groups or [] if g.isdigit()] or None,
        "excludedGroups": [int(g) for g in excluded or [] if g.isdigit()] or None,
    }
    if body["messageId"] is None:
        errors["message_id"] = "Choose a message"
    if when == "later":
        try:
            start = _local_to_utc(start_local, tz)
        except ValueError:
            errors["start"] = "Enter the date and time to start"
        else:
            if start <= utcnow():
                errors["start"] = (
                    f"This time ({start_local.replace('T', ' ')} {tz}) is in the past: choose a later time, or Send now"
                )
            body["startDate"] = start.strftime("%Y-%m-%dT%H:%M:%S")
    if batch_size.strip():
        body["batchSize"] = int(batch_size) if batch_size.strip().isdigit() else batch_size
        body["batchIntervalUnit"] = batch_unit or None
    if errors:
        return _new_form(request, session, form, 400, errors)
    try:
        with get_db(request).transaction() as conn:
            out = broadcasts_service.create(conn, org_of(session), body)
    except ApiError as exc:
        return _new_form(request, session, form, exc.status, {_field_of(exc.detail): exc.detail})
    return redirect(f"/ui/broadcasts/{out.broadcastId}")


def _report_context(
    request: Request, session: UISession, broadcast_id: int, up: int, ep: int
) -> dict[str, Any]:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        view = broadcasts_service.get(conn, org_id, check_id(broadcast_id))
        report = service.build_report(
            conn, org_id, view, unavailable_page=up, errors_page=ep, page_size=REPORT_TABLE_PAGE
        )
        apps = {a.appUuid: a for a in bots_service.list_apps(conn, org_id)}
    query = urlencode({k: v for k, v in (("up", up), ("ep", ep)) if v > 1})
    return {
        "report": report,
        "b": report.view,
        "app": apps.get(report.view.appId),
        "donut_r": service.DONUT_R,
        "donut_c": service.DONUT_C,
        "live_url": f"/ui/broadcasts/{broadcast_id}/live" + (f"?{query}" if query else ""),
        "table_pages": {
            "unavailable": pages(
                report.unavailable_total, report.unavailable_page, REPORT_TABLE_PAGE
            ),
            "errors": pages(report.errors_total, report.errors_page, REPORT_TABLE_PAGE),
        },
        "up": up,
        "ep": ep,
    }


@router.get("/broadcasts/{broadcast_id}")
def report_page(
    request: Request,
    session: SessionDep,
    broadcast_id: int,
    up: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ep: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    values = _report_context(request, session, broadcast_id, up, ep)
    return render(request, session, "report.html", **values)


@router.get("/broadcasts/{broadcast_id}/live")
def report_fragment(
    request: Request,
    session: SessionDep,
    broadcast_id: int,
    up: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ep: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    values = _report_context(request, session, broadcast_id, up, ep)
    return render(request, session, "_report.html", **values)


@router.get("/broadcasts/{broadcast_id}/export.csv")
def export_csv(
    request: Request,
    session: SessionDep,
    broadcast_id: int,
    bucket: Annotated[str, Query(max_length=20)] = "all",
) -> Response:
    """The API's CSV export (GET /v1/broadcast/{id}/report/contacts?format=csv) by session."""
    org_id = org_of(session)
    check_id(broadcast_id)
    with get_db(request).read() as conn:
        name = reports_service.check_export(conn, org_id, broadcast_id, bucket)
    return StreamingResponse(
        reports_service.export_csv(get_db(request).read, broadcast_id, name),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{reports_service.export_filename(broadcast_id, name)}"'
            )
        },
    )


def _transition(
    request: Request,
    session: UISession,
    broadcast_id: int,
    action: Callable[[Any, int, int], Any],
) -> Response:
    check_id(broadcast_id)
    try:
        with get_db(request).transaction() as conn:
            action(conn, org_of(session), broadcast_id)
    except NotFound:
        raise
    except ApiError as exc:
        values = _report_context(request, session, broadcast_id, 1, 1)
        return render(
            request, session, "report.html", status_code=exc.status, flash=exc.detail, **values
        )
    return RedirectResponse(f"/ui/broadcasts/{broadcast_id}", status_code=303)


@router.post("/broadcasts/{broadcast_id}/pause")
def pause_broadcast(request: Request, session: CsrfSession, broadcast_id: int) -> Response:
    return _transition(request, session, broadcast_id, broadcasts_service.pause)


@router.post("/broadcasts/{broadcast_id}/resume")
def resume_broadcast(request: Request, session: CsrfSession, broadcast_id: int) -> Response:
    return _transition(request, session, broadcast_id, broadcasts_service.resume)


@router.post("/broadcasts/{broadcast_id}/cancel")
def cancel_broadcast(request: Request, session: CsrfSession, broadcast_id: int) -> Response:
    return _transition(request, session, broadcast_id, broadcasts_service.cancel)

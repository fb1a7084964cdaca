"""The dashboard at /ui: server-rendered pages, htmx fragments, session + CSRF protection."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from hushcast.bots import service as bots_service
from hushcast.bots.service import resolve_app
from hushcast.broadcasts import service as broadcasts_service
from hushcast.contacts import service as contacts_service
from hushcast.core.chat_ids import parse_chat_id
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.messages import service as messages_service
from hushcast.mute import history as mute_history
from hushcast.mute import service as mute_service
from hushcast.reports import service as reports_service
from hushcast.web import repository as repo
from hushcast.web import service, session_service
from hushcast.web import session as sess
from hushcast.web.session_service import UISession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["format_dt"] = service.format_dt

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
SUBSCRIBERS_PAGE = 50
LIST_PAGE = 20
REPORT_TABLE_PAGE = 50
MAX_ID = 2**63 - 1


# --- errors and headers ----------------------------------------------------------------------


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(value: str | None) -> str:
    """Only our own pages: no scheme, no host, no protocol-relative ``//``."""
    if not value or not value.startswith("/ui") or value.startswith("//") or "\\" in value:
        return "/ui"
    return value


def _login_redirect(request: Request) -> Response:
    target = "/ui/login"
    if request.method == "GET" and request.url.path not in ("/ui", "/ui/login"):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?" + urlencode({"next": path})
    if _is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if request.cookies.get(sess.SESSION_COOKIE):
        response.delete_cookie(sess.SESSION_COOKIE, path=sess.COOKIE_PATH)
    return response


def error_page(request: Request, status: int, detail: str) -> Response:
    if _is_htmx(request):
        return HTMLResponse(f"<p class='error'>{_escape(detail)}</p>", status_code=status)
    session = getattr(request.state, "ui_session", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        _context(request, session, status=status, detail=detail),
        status_code=status,
    )


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def add_security_headers(response: Response, *, no_store: bool = True) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if no_store:
        response.headers.setdefault("Cache-Control", "no-store")


class UIRoute(APIRoute):
    """Answers the dashboard's errors as HTML pages and adds the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except LoginRequired:
                response = _login_redirect(request)
            except CsrfFailed:
                response = error_page(request, 403, "Invalid or missing CSRF token")
            except NotFound:
                response = error_page(request, 404, "Not found")
            except ApiError as exc:
                response = error_page(request, exc.status, exc.detail)
            except RequestValidationError:
                response = error_page(request, 404, "Not found")
            except StarletteHTTPException as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            add_security_headers(response)
            return response

        return handler


class UIStaticFiles(StaticFiles):
    """Static files with the dashboard's security headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def static_files() -> UIStaticFiles:
    return UIStaticFiles(directory=str(HERE / "static"))


router = APIRouter(prefix="/ui", route_class=UIRoute, include_in_schema=False)


# --- dependencies ----------------------------------------------------------------------------


def _secret(request: Request) -> str:
    """The secret that signs new cookies and tokens."""
    secret: str = request.app.state.secret
    return secret


def _secrets(request: Request) -> tuple[str, ...]:
    """The secrets a cookie or token may be signed with (current, then previous)."""
    secrets: tuple[str, ...] = request.app.state.verify_secrets
    return secrets


def _idle(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.session_idle_minutes)


def current_session(request: Request) -> UISession:
    value = request.cookies.get(sess.SESSION_COOKIE)
    if not value:
        raise LoginRequired()
    idle = _idle(request)
    with get_db(request).read() as conn:
        session = session_service.load_session(conn, _secrets(request), value, idle)
    if session is None:
        raise LoginRequired()
    if session_service.needs_touch(session, idle):
        with get_db(request).transaction() as conn:
            session_service.touch(conn, session)
    request.state.ui_session = session
    return session


SessionDep = Annotated[UISession, Depends(current_session)]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def require_csrf(request: Request, session: SessionDep) -> UISession:
    given = request.headers.get(sess.CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        form = await request.form()
        value = form.get(sess.CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not sess.csrf_ok(_secrets(request), session.session_id, given):
        raise CsrfFailed()
    return session


CsrfSession = Annotated[UISession, Depends(require_csrf)]


def _tz(request: Request) -> str:
    return service.clean_tz(request.cookies.get(sess.TZ_COOKIE))


def _context(request: Request, session: UISession | None, **values: Any) -> dict[str, Any]:
    tz = _tz(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "session": session,
        "csrf": session.csrf if session else "",
        "csrf_field": sess.CSRF_FIELD,
        "tz": tz,
        "zones": service.zones_for(tz),
        "current_path": path,
        "nav": request.url.path,
        **values,
    }


def _render(
    request: Request,
    session: UISession | None,
    name: str,
    status_code: int = 200,
    **values: Any,
) -> Response:
    return templates.TemplateResponse(
        request, name, _context(request, session, **values), status_code=status_code
    )


def _pages(total: int, page: int, size: int) -> dict[str, Any]:
    last = max(1, (total + size - 1) // size)
    return {"page": page, "last": last, "total": total, "size": size}


def _app_or_404(conn: Any, org_id: int, app_uuid: str) -> Any:
    try:
        return resolve_app(conn, org_id, app_uuid)
    except ApiError:
        raise NotFound("App not found") from None


def _check_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise NotFound("Not found")
    return value


# --- sign in / out ---------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    secret = _secret(request)
    nonce = request.cookies.get(sess.LOGIN_COOKIE)
    if not nonce or len(nonce) > sess.MAX_NONCE_CHARS:
        nonce = sess.new_login_nonce()
    response = _render(
        request,
        None,
        "login.html",
        login_csrf=sess.login_csrf_token(secret, nonce),
        next=_safe_next(next),
        error=None,
    )
    _set_login_cookie(request, response, nonce)
    return response


def _set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        sess.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path=sess.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


@router.post("/login")
def login_submit(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui",
) -> Response:
    secret = _secret(request)
    nonce = request.cookies.get(sess.LOGIN_COOKIE)
    if not sess.login_csrf_ok(_secrets(request), nonce, csrf_token):
        raise CsrfFailed()
    with get_db(request).transaction() as conn:
        value = session_service.sign_in(conn, secret, api_key, _idle(request))
    if value is None:
        assert nonce is not None
        response = _render(
            request,
            None,
            "login.html",
            status_code=401,
            login_csrf=sess.login_csrf_token(secret, nonce),
            next=_safe_next(next),
            error="Unknown or revoked API key",
        )
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        sess.SESSION_COOKIE,
        value,
        max_age=sess.SESSION_TTL_S,
        path=sess.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(sess.LOGIN_COOKIE, path=sess.COOKIE_PATH)
    return response


def _signed_out() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(sess.SESSION_COOKIE, path=sess.COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request, session: CsrfSession) -> Response:
    """Ends this session on the server: the old cookie no longer opens anything."""
    with get_db(request).transaction() as conn:
        session_service.sign_out(conn, session)
    return _signed_out()


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, session: CsrfSession) -> Response:
    """Ends every dashboard session of the organisation, this one included."""
    with get_db(request).transaction() as conn:
        session_service.sign_out_everywhere(conn, session)
    return _signed_out()


@router.post("/tz")
def set_tz(
    request: Request,
    session: CsrfSession,
    tz: Annotated[str, Form(max_length=64)] = "UTC",
    next: Annotated[str, Form(max_length=2000)] = "/ui",
) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        sess.TZ_COOKIE,
        service.clean_tz(tz),
        max_age=365 * 24 * 3600,
        path=sess.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


# --- bots and subscribers --------------------------------------------------------------------


@router.get("")
def bots_page(request: Request, session: SessionDep) -> Response:
    with get_db(request).read() as conn:
        apps = bots_service.list_apps(conn, session.principal.organization_id)
    return _render(request, session, "bots.html", apps=apps)


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
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    tz = _tz(request)
    search = q.strip() or None
    with get_db(request).read() as conn:
        app_row = _app_or_404(conn, session.principal.organization_id, app_uuid)
        app = bots_service.get_app(conn, session.principal.organization_id, app_row.uuid)
        items, total = contacts_service.list_tokens(
            conn, int(app_row.id), (page - 1) * SUBSCRIBERS_PAGE, SUBSCRIBERS_PAGE, search
        )
    rows = [
        _token_view(t.token, t.externalCustomerId, t.phone, t.email, t.active, t.mutedUntil, tz)
        for t in items
    ]
    return _render(
        request,
        session,
        "subscribers.html",
        app=app,
        rows=rows,
        q=q,
        durations=service.DURATIONS,
        paging=_pages(total, page, SUBSCRIBERS_PAGE),
        query_base=urlencode({"q": q}) if q else "",
    )


def _row_response(
    request: Request,
    session: UISession,
    app_uuid: str,
    token: str,
    error: str | None = None,
    back: str | None = None,
) -> Response:
    if not _is_htmx(request):
        if error:
            raise ApiError(400, error)
        return RedirectResponse(_safe_next(back or f"/ui/apps/{app_uuid}"), status_code=303)
    tz = _tz(request)
    with get_db(request).read() as conn:
        app_row = _app_or_404(conn, session.principal.organization_id, app_uuid)
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
    return _render(
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
    tz = _tz(request)
    with get_db(request).read() as conn:
        app_row = _app_or_404(conn, session.principal.organization_id, app_uuid)
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
    return _render(
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
    with get_db(request).transaction() as conn:
        app_row = _app_or_404(conn, session.principal.organization_id, app_uuid)
        clean = parse_chat_id(token, "token")
        try:
            seconds = service.parse_ui_duration(duration, custom)
        except ApiError as exc:
            error = exc.detail
        else:
            mute_service.mute(conn, int(app_row.id), [clean], seconds, session.principal.api_key_id)
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
        app_row = _app_or_404(conn, session.principal.organization_id, app_uuid)
        clean = parse_chat_id(token, "token")
        mute_service.unmute(conn, int(app_row.id), [clean], session.principal.api_key_id)
    return _row_response(request, session, app_row.uuid, clean, None, back)


# --- messages and broadcasts -----------------------------------------------------------------


@router.get("/messages")
def messages_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    with get_db(request).read() as conn:
        items, total = messages_service.list_messages(
            conn, session.principal.organization_id, q, (page - 1) * LIST_PAGE, LIST_PAGE
        )
    return _render(
        request,
        session,
        "messages.html",
        messages=items,
        q=q,
        paging=_pages(total, page, LIST_PAGE),
        query_base=urlencode({"q": q}) if q else "",
    )


@router.get("/broadcasts")
def broadcasts_page(
    request: Request,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    org_id = session.principal.organization_id
    with get_db(request).read() as conn:
        items, total = broadcasts_service.list_page(conn, org_id, (page - 1) * LIST_PAGE, LIST_PAGE)
        apps = {a.appUuid: a for a in bots_service.list_apps(conn, org_id)}
    return _render(
        request,
        session,
        "broadcasts.html",
        broadcasts=items,
        apps=apps,
        paging=_pages(total, page, LIST_PAGE),
        query_base="",
    )


def _report_context(
    request: Request, session: UISession, broadcast_id: int, up: int, ep: int
) -> dict[str, Any]:
    org_id = session.principal.organization_id
    with get_db(request).read() as conn:
        view = broadcasts_service.get(conn, org_id, _check_id(broadcast_id))
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
            "unavailable": _pages(
                report.unavailable_total, report.unavailable_page, REPORT_TABLE_PAGE
            ),
            "errors": _pages(report.errors_total, report.errors_page, REPORT_TABLE_PAGE),
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
    return _render(request, session, "report.html", **values)


@router.get("/broadcasts/{broadcast_id}/live")
def report_fragment(
    request: Request,
    session: SessionDep,
    broadcast_id: int,
    up: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ep: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    values = _report_context(request, session, broadcast_id, up, ep)
    return _render(request, session, "_report.html", **values)


@router.get("/broadcasts/{broadcast_id}/export.csv")
def export_csv(
    request: Request,
    session: SessionDep,
    broadcast_id: int,
    bucket: Annotated[str, Query(max_length=20)] = "all",
) -> Response:
    """The API's CSV export (GET /v1/broadcast/{id}/report/contacts?format=csv) by session."""
    org_id = session.principal.organization_id
    _check_id(broadcast_id)
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
    _check_id(broadcast_id)
    try:
        with get_db(request).transaction() as conn:
            action(conn, session.principal.organization_id, broadcast_id)
    except NotFound:
        raise
    except ApiError as exc:
        values = _report_context(request, session, broadcast_id, 1, 1)
        return _render(
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

"""The dashboard's core: the /ui router, its error pages and security headers, the session
and CSRF dependencies, and rendering helpers. The screens live in web/screens/."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from hushcast.bots.service import resolve_app
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError, NotFound
from hushcast.web import service, session_service
from hushcast.web import session as sess
from hushcast.web.session_service import UISession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["format_dt"] = service.format_dt

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
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


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """Only our own pages: no scheme, no host, no protocol-relative ``//``."""
    if not value or not value.startswith("/ui") or value.startswith("//") or "\\" in value:
        return "/ui"
    return value


def _login_redirect(request: Request) -> Response:
    target = "/ui/login"
    if request.method == "GET" and request.url.path not in ("/ui", "/ui/login"):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?" + urlencode({"next": path})
    if is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if request.cookies.get(sess.SESSION_COOKIE):
        response.delete_cookie(sess.SESSION_COOKIE, path=sess.COOKIE_PATH)
    return response


def error_page(request: Request, status: int, detail: str) -> Response:
    if is_htmx(request):
        return HTMLResponse(f"<p class='error'>{escape_html(detail)}</p>", status_code=status)
    session = getattr(request.state, "ui_session", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        context(request, session, status=status, detail=detail),
        status_code=status,
    )


def escape_html(text: str) -> str:
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


def secret_of(request: Request) -> str:
    """The secret that signs new cookies and tokens."""
    secret: str = request.app.state.secret
    return secret


def secrets_of(request: Request) -> tuple[str, ...]:
    """The secrets a cookie or token may be signed with (current, then previous)."""
    secrets: tuple[str, ...] = request.app.state.verify_secrets
    return secrets


def idle_of(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.session_idle_minutes)


def current_session(request: Request) -> UISession:
    value = request.cookies.get(sess.SESSION_COOKIE)
    if not value:
        raise LoginRequired()
    idle = idle_of(request)
    with get_db(request).read() as conn:
        session = session_service.load_session(conn, secrets_of(request), value, idle)
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
    if not sess.csrf_ok(secrets_of(request), session.session_id, given):
        raise CsrfFailed()
    return session


CsrfSession = Annotated[UISession, Depends(require_csrf)]


def tz_of(request: Request) -> str:
    return service.clean_tz(request.cookies.get(sess.TZ_COOKIE))


def context(request: Request, session: UISession | None, **values: Any) -> dict[str, Any]:
    tz = tz_of(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "session": session,
        "csrf": session.csrf if session else "",
        "csrf_field": sess.CSRF_FIELD,
        "tz": tz,
        "tz_chosen": bool(request.cookies.get(sess.TZ_COOKIE)),
        "zones": service.zones_for(tz),
        "current_path": path,
        "nav": request.url.path,
        **values,
    }


def render(
    request: Request,
    session: UISession | None,
    name: str,
    status_code: int = 200,
    **values: Any,
) -> Response:
    return templates.TemplateResponse(
        request, name, context(request, session, **values), status_code=status_code
    )


def pages(total: int, page: int, size: int) -> dict[str, Any]:
    last = max(1, (total + size - 1) // size)
    return {"page": page, "last": last, "total": total, "size": size}


def app_or_404(conn: Any, org_id: int, app_uuid: str) -> Any:
    try:
        return resolve_app(conn, org_id, app_uuid)
    except ApiError:
        raise NotFound("App not found") from None


def check_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise NotFound("Not found")
    return value


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors by field path ("name", "buttons.0.link"): shown beside the field."""
    out: dict[str, str] = {}
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ())) or "form"
        out.setdefault(path, str(err.get("msg", "invalid")))
    return out


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def org_of(session: UISession) -> int:
    return session.principal.organization_id

"""Signing in and out, and the viewer's time zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from hushcast.core.deps import get_db
from hushcast.web import service, session_service
from hushcast.web import session as sess
from hushcast.web.ui import (
    CsrfFailed,
    CsrfSession,
    idle_of,
    is_secure,
    render,
    router,
    safe_next,
    secret_of,
    secrets_of,
)

# --- sign in / out ---------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    secret = secret_of(request)
    nonce = request.cookies.get(sess.LOGIN_COOKIE)
    if not nonce or len(nonce) > sess.MAX_NONCE_CHARS:
        nonce = sess.new_login_nonce()
    response = render(
        request,
        None,
        "login.html",
        login_csrf=sess.login_csrf_token(secret, nonce),
        next=safe_next(next),
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
        secure=is_secure(request),
    )


@router.post("/login")
def login_submit(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui",
) -> Response:
    secret = secret_of(request)
    nonce = request.cookies.get(sess.LOGIN_COOKIE)
    if not sess.login_csrf_ok(secrets_of(request), nonce, csrf_token):
        raise CsrfFailed()
    with get_db(request).transaction() as conn:
        value = session_service.sign_in(conn, secret, api_key, idle_of(request))
    if value is None:
        assert nonce is not None
        response = render(
            request,
            None,
            "login.html",
            status_code=401,
            login_csrf=sess.login_csrf_token(secret, nonce),
            next=safe_next(next),
            error="Unknown or revoked API key",
        )
        return response
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        sess.SESSION_COOKIE,
        value,
        max_age=sess.SESSION_TTL_S,
        path=sess.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
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
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        sess.TZ_COOKIE,
        service.clean_tz(tz),
        max_age=365 * 24 * 3600,
        path=sess.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    return response

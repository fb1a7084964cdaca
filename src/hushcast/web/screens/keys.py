"""API keys of the organisation: an admin key's session lists, creates (shown once) and
revokes them. Other sessions get 403."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError
from hushcast.orgs import service as orgs_service
from hushcast.web.session_service import UISession
from hushcast.web.ui import CsrfSession, SessionDep, org_of, redirect, render, router

NOT_ADMIN = "Only an admin key of the organisation can manage API keys"


def _require_admin(conn: Any, session: UISession) -> None:
    if not orgs_service.is_admin_key(conn, org_of(session), session.principal.api_key_id):
        raise ApiError(403, NOT_ADMIN)


def _page(request: Request, session: UISession, status: int = 200, **values: Any) -> Response:
    with get_db(request).read() as conn:
        _require_admin(conn, session)
        keys = orgs_service.list_org_keys(conn, org_of(session))
    values.setdefault("error", None)
    values.setdefault("new_key", None)
    return render(
        request,
        session,
        "keys.html",
        status_code=status,
        keys=keys,
        current=session.principal.api_key_id,
        **values,
    )


@router.get("/keys")
def keys_page(request: Request, session: SessionDep) -> Response:
    return _page(request, session)


@router.post("/keys")
def create_key(
    request: Request,
    session: CsrfSession,
    name: Annotated[str, Form(max_length=200)] = "",
    admin: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    with get_db(request).transaction() as conn:
        _require_admin(conn, session)
        _, key = orgs_service.create_org_key(
            conn, org_of(session), name.strip() or None, admin == "on"
        )
    # Shown in this answer only: the database keeps its digest.
    response = _page(request, session, new_key=key)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, session: CsrfSession, key_id: int) -> Response:
    try:
        with get_db(request).transaction() as conn:
            _require_admin(conn, session)
            orgs_service.revoke_org_key(conn, org_of(session), key_id, session.principal.api_key_id)
    except ApiError as exc:
        if exc.status in (403, 404):
            raise
        return _page(request, session, exc.status, error=exc.detail)
    return redirect("/ui/keys")

"""Bots: the list, connecting one by its BotFather token, its settings, removing it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hushcast.bots import service as bots_service
from hushcast.bots.schemas import AppUpdate
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError
from hushcast.updates import disconnect
from hushcast.updates import settings_service as updates_settings
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    app_or_404,
    field_errors,
    org_of,
    redirect,
    render,
    router,
)


def _bots_page(request: Request, session: UISession, status: int = 200, **values: Any) -> Response:
    with get_db(request).read() as conn:
        apps = bots_service.list_apps(conn, org_of(session))
    values.setdefault("errors", {})
    values.setdefault("form", {})
    return render(request, session, "bots.html", status_code=status, apps=apps, **values)


@router.get("")
def bots_page(request: Request, session: SessionDep) -> Response:
    return _bots_page(request, session)


@router.post("/apps")
async def connect_bot(
    request: Request,
    session: CsrfSession,
    bot_token: Annotated[str, Form(max_length=300)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The API's POST /v1/apps: the token is checked with Telegram's getMe."""
    form = {"bot_token": "", "name": name}
    try:
        token, bot = await bots_service.check_bot_token(request.app.state.telegram, bot_token)
    except ApiError as exc:
        return await run_in_threadpool(
            _bots_page, request, session, exc.status, errors={"bot_token": exc.detail}, form=form
        )

    def store() -> str:
        with get_db(request).transaction() as conn:
            out, _ = bots_service.connect_bot(
                conn, org_of(session), token, bot, name.strip() or None
            )
        return out.appUuid

    app_uuid = await run_in_threadpool(store)
    return redirect(f"/ui/apps/{app_uuid}/settings?connected=1")


def _settings_page(
    request: Request,
    session: UISession,
    app_uuid: str,
    status: int = 200,
    **values: Any,
) -> Response:
    with get_db(request).read() as conn:
        row = app_or_404(conn, org_of(session), app_uuid)
        app = bots_service.get_app(conn, org_of(session), row.uuid)
        # Read-only: how the bot's updates arrive and how the relay is doing.
        updates = updates_settings.to_out(
            conn, int(row.id), row.uuid, request.app.state.settings.public_url
        )
    values.setdefault("errors", {})
    values.setdefault("form", app.model_dump())
    return render(
        request,
        session,
        "bot_settings.html",
        status_code=status,
        app=app,
        updates=updates,
        **values,
    )


@router.get("/apps/{app_uuid}/settings")
def settings_page(
    request: Request, session: SessionDep, app_uuid: str, connected: int = 0
) -> Response:
    flash = "Bot connected. Check its name and limits below." if connected else None
    return _settings_page(request, session, app_uuid, ok=flash)


def _number(value: str) -> float | str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value  # pydantic names the field in its error


@router.post("/apps/{app_uuid}/settings")
def save_settings(
    request: Request,
    session: CsrfSession,
    app_uuid: str,
    name: Annotated[str, Form(max_length=1000)] = "",
    paidBroadcast: Annotated[str, Form(max_length=10)] = "",
    messagesPerSecond: Annotated[str, Form(max_length=30)] = "",
    privateChatPerSecond: Annotated[str, Form(max_length=30)] = "",
    groupPerMinute: Annotated[str, Form(max_length=30)] = "",
    paidMessagesPerSecond: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """The API's PATCH /v1/apps/{uuid}: name, paid broadcasts and rate limits."""
    raw = {
        "name": name.strip() or None,
        "paidBroadcast": paidBroadcast == "on",
        "messagesPerSecond": _number(messagesPerSecond),
        "privateChatPerSecond": _number(privateChatPerSecond),
        "groupPerMinute": _number(groupPerMinute),
        "paidMessagesPerSecond": _number(paidMessagesPerSecond),
    }
    try:
        change = AppUpdate.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        return _settings_page(request, session, app_uuid, 400, errors=field_errors(exc), form=raw)
    with get_db(request).transaction() as conn:
        row = app_or_404(conn, org_of(session), app_uuid)
        bots_service.update_app(conn, org_of(session), row.uuid, change)
    return _settings_page(request, session, app_uuid, ok="Saved.")


@router.post("/apps/{app_uuid}/delete")
async def delete_bot(request: Request, session: CsrfSession, app_uuid: str) -> Response:
    """The API's DELETE /v1/apps/{uuid}: the bot with its tokens, mutes and queue."""

    def remove() -> str | None:
        with get_db(request).transaction() as conn:
            row = app_or_404(conn, org_of(session), app_uuid)
            return disconnect.delete_app(conn, org_of(session), row.uuid)

    token = await run_in_threadpool(remove)
    await disconnect.forget_webhook(request.app.state.settings.telegram_api_url, token)
    return redirect("/ui")

"""Updates API (``/v1/apps/{uuid}/updates``, ``/v1/apps/{uuid}/links``) and the webhook
receiver Telegram calls (``/telegram/webhook/{uuid}``)."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.bots.service import parse_app_uuid, resolve_app
from hushcast.core.deps import ReadConn, get_db
from hushcast.core.errors import ApiError
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.updates import botapi, intake, link_service, settings_service
from hushcast.updates.config import get_updates_settings
from hushcast.updates.schemas import LinkIn, LinkOut, UpdatesIn, UpdatesOut

router = APIRouter(tags=["updates"])
receiver = APIRouter(tags=["updates"])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@router.put("/apps/{app_uuid}/updates", response_model=UpdatesOut)
async def put_updates(
    app_uuid: str, body: UpdatesIn, request: Request, principal: CurrentPrincipal
) -> Any:
    """Receive the bot's updates by ``webhook`` or ``polling``, or not at all (``off``).

    Turning updates on takes them over from any other program: Telegram gives a bot's
    updates to one webhook or one poller. Set ``relayUrl`` (and ``relaySecret``) to keep
    your own bot working: every update is forwarded to it unchanged."""
    db = get_db(request)
    settings = request.app.state.settings
    org_id = principal.organization_id
    owner = secrets.token_hex(16)

    def begin() -> tuple[Any, dict[str, Any]]:
        with db.transaction() as conn:
            return settings_service.begin_change(conn, org_id, app_uuid, body, owner)

    app, values = await run_in_threadpool(begin)
    stored = False
    try:
        url = settings_service.webhook_url(settings.public_url, app.uuid)
        # Telegram first: a refused setWebhook leaves the stored mode as it was.
        try:
            await botapi.configure(
                settings.telegram_api_url, app.bot_token, body.mode, url, values["webhook_secret"]
            )
        except botapi.BotApiError as exc:
            raise ApiError(502, str(exc)) from None

        def save() -> UpdatesOut:
            with db.transaction() as conn:
                return settings_service.store_settings(
                    conn, org_id, app_uuid, values, settings.public_url, owner
                )

        out = await run_in_threadpool(save)
        stored = True
        return out
    finally:
        if not stored:

            def abandon() -> None:
                with db.transaction() as conn:
                    settings_service.abandon_change(conn, int(app.id), owner)

            # A failure to free it here leaves the lock to lapse (CONFIG_LOCK_S).
            with contextlib.suppress(Exception):
                await run_in_threadpool(abandon)


@router.get("/apps/{app_uuid}/updates", response_model=UpdatesOut)
def get_updates(
    app_uuid: str, request: Request, principal: CurrentPrincipal, conn: ReadConn
) -> Any:
    """The bot's update settings and relay counters (never the secrets)."""
    app = resolve_app(conn, principal.organization_id, app_uuid)
    return settings_service.to_out(
        conn, int(app.id), app.uuid, request.app.state.settings.public_url
    )


@router.post("/apps/{app_uuid}/links", response_model=LinkOut)
def post_link(app_uuid: str, body: LinkIn, request: Request, principal: CurrentPrincipal) -> Any:
    """A deep link ``https://t.me/<bot>?start=<payload>``: a user who opens it and starts
    the bot becomes a subscriber as the named contact (created if no contact holds the
    identifier). Valid for ``HUSHCAST_UPDATES_LINK_TTL_S`` seconds, any number of times."""
    db = get_db(request)
    with db.transaction() as conn:
        app = resolve_app(conn, principal.organization_id, app_uuid)
        return link_service.make_link(
            conn,
            principal.organization_id,
            app,
            body,
            request.app.state.secret,
            get_updates_settings().link_ttl_s,
        )


@receiver.post(settings_service.WEBHOOK_PATH + "{app_uuid}", include_in_schema=False)
async def telegram_webhook(app_uuid: str, request: Request) -> Response:
    """Telegram's calls: stored (deduplicated by update_id) and answered; the worker
    applies and relays them. A wrong secret gets 401 and nothing is stored."""
    raw = await request.body()
    secret = request.headers.get(SECRET_HEADER)
    db = get_db(request)

    def store() -> None:
        try:
            canonical = parse_app_uuid(app_uuid)
        except ApiError:
            raise intake.Unauthorized(intake.FORBIDDEN) from None
        with db.transaction() as conn:
            intake.accept_webhook(conn, canonical, secret, raw)

    await run_in_threadpool(store)
    return Response(status_code=200)

"""HTTP endpoints for bot apps. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from hushcast.bots import service
from hushcast.bots.schemas import AppCreate, AppOut, AppUpdate
from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.openapi import problems
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.updates import disconnect

router = APIRouter(tags=["bots"])

INVALID_BOT_TOKEN = service.INVALID_BOT_TOKEN


@router.post(
    "/apps",
    response_model=AppOut,
    status_code=201,
    responses={
        200: {"model": AppOut, "description": "The bot was already connected"},
        **problems(502),
    },
)
async def connect_app(body: AppCreate, request: Request, principal: CurrentPrincipal) -> Response:
    """Connects a Telegram bot by its BotFather token (checked with getMe)."""
    token, bot = await service.check_bot_token(request.app.state.telegram, body.botToken)

    def store() -> tuple[AppOut, bool]:
        with get_db(request).transaction() as conn:
            return service.connect_bot(conn, principal.organization_id, token, bot, body.name)

    app_out, created = await run_in_threadpool(store)
    return JSONResponse(app_out.model_dump(), status_code=201 if created else 200)


@router.get("/apps", response_model=list[AppOut])
def list_apps(principal: CurrentPrincipal, conn: ReadConn) -> list[AppOut]:
    return service.list_apps(conn, principal.organization_id)


@router.get("/apps/{app_uuid}", response_model=AppOut)
def get_app(app_uuid: str, principal: CurrentPrincipal, conn: ReadConn) -> AppOut:
    return service.get_app(conn, principal.organization_id, app_uuid)


@router.patch("/apps/{app_uuid}", response_model=AppOut)
def update_app(
    app_uuid: str, body: AppUpdate, principal: CurrentPrincipal, conn: WriteConn
) -> AppOut:
    """Changes the bot's name, paid-broadcast mode or rate limits."""
    return service.update_app(conn, principal.organization_id, app_uuid, body)


@router.delete("/apps/{app_uuid}", status_code=204)
async def delete_app(app_uuid: str, request: Request, principal: CurrentPrincipal) -> Response:
    """Disconnects the bot and deletes its tokens, mutes and queued messages; a webhook
    set for its updates is removed from Telegram."""

    def remove() -> str | None:
        with get_db(request).transaction() as conn:
            return disconnect.delete_app(conn, principal.organization_id, app_uuid)

    token = await run_in_threadpool(remove)
    await disconnect.forget_webhook(request.app.state.settings.telegram_api_url, token)
    return Response(status_code=204)

"""Mute and unmute endpoints (Yespo ``muteAppToken`` / ``unmuteAppToken``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.bots.service import parse_app_uuid, resolve_app
from hushcast.core.deps import ReadConn, get_db
from hushcast.core.errors import BadRequest
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.mute import fence, history, service
from hushcast.mute.schemas import (
    BulkMuteOut,
    MuteBodyDoc,
    MuteChangeOut,
    MuteOut,
    MuteStateOut,
    UnmuteBodyDoc,
)
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["mute"])


@router.post(
    "/apps/{app_uuid}/token/mute",
    response_model=MuteOut | BulkMuteOut,
    openapi_extra=body_doc(MuteBodyDoc),
)
async def mute(app_uuid: str, request: Request, principal: CurrentPrincipal) -> Any:
    """Stops broadcasts to the chat until now + duration (5..31536000 s), or forever
    without a duration. Transactional messages still go through."""
    raw = await request.body()
    db = get_db(request)
    settings = request.app.state.settings
    org_id = principal.organization_id

    def apply() -> Any:
        canonical = parse_app_uuid(app_uuid)
        # The body is checked before the write transaction, to hold SQLite's write lock
        # no longer than the statements take. Yespo's order puts an unknown app (404)
        # before every body error, so a bad body is answered only after that check.
        try:
            body = parse_json_object(raw)
            tokens, bulk = service.parse_tokens(body)
            duration = service.parse_duration(body)
        except BadRequest:
            with db.read() as conn:
                resolve_app(conn, org_id, canonical)
            raise
        # The app lookup is part of the mute's statements (NotFound if there is none).
        with db.transaction() as conn:
            until, sending = service.mute_app(
                conn, org_id, canonical, tokens, duration, principal.api_key_id
            )
        return service.mute_response(tokens, bulk, until), fence.wait_if(settings, sending)

    response, wait = await run_in_threadpool(apply)
    if wait:
        # Committed; answered once no send checked before the commit can still arrive.
        await asyncio.sleep(wait)
    return response


@router.post(
    "/apps/{app_uuid}/token/unmute",
    response_model=MuteOut | BulkMuteOut,
    openapi_extra=body_doc(UnmuteBodyDoc),
)
async def unmute(app_uuid: str, request: Request, principal: CurrentPrincipal) -> Any:
    """Ends the mute now. Unmuting a chat that is not muted is fine."""
    raw = await request.body()

    def apply() -> Any:
        with get_db(request).transaction() as conn:
            app = resolve_app(conn, principal.organization_id, app_uuid)
            tokens, bulk = service.parse_tokens(parse_json_object(raw))
            service.unmute(conn, app.id, tokens, principal.api_key_id)
        return service.mute_response(tokens, bulk, None)

    return await run_in_threadpool(apply)


@router.get("/apps/{app_uuid}/token/mute", response_model=MuteStateOut)
def mute_state(
    app_uuid: str,
    principal: CurrentPrincipal,
    conn: ReadConn,
    token: Annotated[str | None, Query(description="chat id")] = None,
) -> MuteStateOut:
    """Whether the chat is muted now, and until when."""
    app = resolve_app(conn, principal.organization_id, app_uuid)
    return service.state(conn, app.id, service.parse_token(token))


@router.get(
    "/apps/{app_uuid}/token/mute/history",
    response_model=list[MuteChangeOut],
    response_model_by_alias=True,
)
def mute_history(
    app_uuid: str,
    principal: CurrentPrincipal,
    conn: ReadConn,
    response: Response,
    page: Annotated[Page, Depends(page_params)],
    token: Annotated[str | None, Query(description="chat id")] = None,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    to: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
) -> list[MuteChangeOut]:
    """Each change of the chat's mute, oldest first: when, by whom, mutedUntil before and
    after, and the kind (mute, unmute, expire). The total is in the TotalCount header."""
    app = resolve_app(conn, principal.organization_id, app_uuid)
    clean = service.parse_token(token)
    start = history.parse_when("from", from_)
    end = history.parse_when("to", to)
    rows, total = history.history(conn, app.id, clean, start, end, page.offset, page.maxrows)
    set_total(response, total)
    return rows

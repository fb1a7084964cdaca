"""Broadcast endpoints (Yespo ``createBroadcast`` and friends). Thin: parse, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.broadcasts import service
from hushcast.broadcasts.schemas import BroadcastCreateDoc, BroadcastOut, BroadcastView
from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.errors import check_id
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc, problems
from hushcast.core.pagination import Page, set_total
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["broadcasts"])
NOT_FOUND = service.BROADCAST_NOT_FOUND


def broadcast_page(
    startindex: Annotated[int, Query(ge=1, description="1-based index of the first row")] = 1,
    maxrows: Annotated[int, Query(ge=1, le=500, description="rows per page, at most 500")] = 10,
) -> Page:
    return Page(startindex=startindex, maxrows=maxrows)


@router.post(
    "/broadcast",
    response_model=BroadcastOut,
    responses=problems(404),
    openapi_extra=body_doc(BroadcastCreateDoc),
)
async def create_broadcast(request: Request, principal: CurrentPrincipal) -> BroadcastOut:
    """Schedules a broadcast of a message to a bot's subscribers (all, or some groups minus
    excluded groups). Starts at startDate (UTC), or now. Recipients are planned by the
    worker, so this returns at once whatever the audience size. 200 (not 201): Yespo's
    createBroadcast answers 200 and its clients check for it."""
    raw = await request.body()

    def apply() -> BroadcastOut:
        with get_db(request).transaction() as conn:
            return service.create(conn, principal.organization_id, parse_json_object(raw))

    return await run_in_threadpool(apply)


@router.get("/broadcasts", response_model=list[BroadcastView])
def list_broadcasts(
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(broadcast_page)],
) -> list[BroadcastView]:
    """The organisation's broadcasts, newest first, with live counters."""
    items, total = service.list_page(conn, principal.organization_id, page.offset, page.maxrows)
    set_total(response, total)
    return items


@router.get("/broadcast/{broadcast_id}", response_model=BroadcastView)
def get_broadcast(broadcast_id: int, principal: CurrentPrincipal, conn: ReadConn) -> BroadcastView:
    return service.get(conn, principal.organization_id, check_id(broadcast_id, NOT_FOUND))


@router.delete("/broadcast/{broadcast_id}", response_model=BroadcastView, responses=problems(409))
def cancel_broadcast(
    broadcast_id: int, principal: CurrentPrincipal, conn: WriteConn
) -> BroadcastView:
    """Cancels the broadcast: recipients still in the queue are not sent (CANCELLED)."""
    return service.cancel(conn, principal.organization_id, check_id(broadcast_id, NOT_FOUND))


@router.post(
    "/broadcast/{broadcast_id}/pause", response_model=BroadcastView, responses=problems(409)
)
def pause_broadcast(
    broadcast_id: int, principal: CurrentPrincipal, conn: WriteConn
) -> BroadcastView:
    """Stops sending (a scheduled or running broadcast) until resumed."""
    return service.pause(conn, principal.organization_id, check_id(broadcast_id, NOT_FOUND))


@router.post(
    "/broadcast/{broadcast_id}/resume", response_model=BroadcastView, responses=problems(409)
)
def resume_broadcast(
    broadcast_id: int, principal: CurrentPrincipal, conn: WriteConn
) -> BroadcastView:
    """Resumes a paused broadcast (RUNNING if it had started, else SCHEDULED)."""
    return service.resume(conn, principal.organization_id, check_id(broadcast_id, NOT_FOUND))

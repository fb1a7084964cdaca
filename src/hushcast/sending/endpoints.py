"""Transactional send endpoints (Yespo ``sendExtendedPreparedMessage``, test send,
``getInstantMessagesStatus``). Thin: parse, call the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import ReadConn, get_db
from hushcast.core.errors import check_id
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.sending import service
from hushcast.sending.schemas import (
    SendResponse,
    SmartsendBodyDoc,
    StatusResponse,
    TestSendBodyDoc,
)

router = APIRouter(tags=["sending"])


@router.get("/message/status", response_model=StatusResponse, response_model_exclude_none=True)
def message_status(
    principal: CurrentPrincipal,
    conn: ReadConn,
    ids: Annotated[
        list[str] | None,
        Query(description="Request ids, comma-separated and/or repeated; at most 1,000"),
    ] = None,
) -> StatusResponse:
    """Status of transactional sends by requestId, in the order asked. Unknown ids (and
    other organisations' ids) answer NOT_FOUND."""
    return service.statuses(conn, principal.organization_id, service.parse_ids(ids))


@router.post(
    "/message/{message_id}/smartsend",
    response_model=SendResponse,
    response_model_exclude_unset=True,
    openapi_extra=body_doc(SmartsendBodyDoc),
)
async def smartsend(message_id: int, request: Request, principal: CurrentPrincipal) -> Any:
    """Sends the message to up to 1,000 recipients (chat id, contactId or
    externalCustomerId), ignoring mute, ahead of broadcasts. Each recipient gets its own
    result: OK with a requestId to poll, or ERROR with a message."""
    check_id(message_id, service.MESSAGE_NOT_FOUND)
    raw = await request.body()

    def apply() -> SendResponse:
        with get_db(request).transaction() as conn:
            body = parse_json_object(raw)
            return service.smartsend(conn, principal.organization_id, message_id, body)

    return await run_in_threadpool(apply)


@router.post(
    "/message/{message_id}/test",
    response_model=SendResponse,
    response_model_exclude_unset=True,
    status_code=202,
    openapi_extra=body_doc(TestSendBodyDoc),
)
async def send_test_message(message_id: int, request: Request, principal: CurrentPrincipal) -> Any:
    """Sends a test of the message to registered chat ids and/or contacts' active tokens."""
    check_id(message_id, service.MESSAGE_NOT_FOUND)
    raw = await request.body()

    def apply() -> SendResponse:
        with get_db(request).transaction() as conn:
            body = parse_json_object(raw)
            return service.send_test(conn, principal.organization_id, message_id, body)

    return await run_in_threadpool(apply)

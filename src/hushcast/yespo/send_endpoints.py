"""Yespo's legacy send call, kept for the clients that still make it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import get_db
from hushcast.core.errors import check_id
from hushcast.core.jsonbody import parse_json_object
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.sending.schemas import SendResponse
from hushcast.sending.service import MESSAGE_NOT_FOUND
from hushcast.yespo import send_service as service

router = APIRouter(tags=["sending"])


@router.post(
    "/message/{message_id}/send",
    response_model=SendResponse,
    response_model_exclude_unset=True,
)
async def legacy_send(message_id: int, request: Request, principal: CurrentPrincipal) -> Any:
    """Yespo's older send: ``recipients`` (chat ids here), ``contactId``, ``params``
    ``[{key, value}]`` (read in the message as ``$!data.get('key')``). Sent as a smartsend;
    ``groupId`` answers 400 pointing to POST /v1/broadcast."""
    check_id(message_id, MESSAGE_NOT_FOUND)
    raw = await request.body()

    def apply() -> SendResponse:
        with get_db(request).transaction() as conn:
            body = parse_json_object(raw)
            return service.legacy_send(conn, principal.organization_id, message_id, body)

    return await run_in_threadpool(apply)

"""HTTP endpoints for Telegram base messages. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from hushcast.core.deps import ReadConn, WriteConn
from hushcast.core.openapi import problems
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.messages import service
from hushcast.messages.schemas import MessageId, MessageIn, MessageOut
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["messages"])


@router.post("/messages/telegram", response_model=MessageId)
def create_message(body: MessageIn, principal: CurrentPrincipal, conn: WriteConn) -> MessageId:
    """Creates a Telegram message (text, optional image, URL buttons, tags). 200, as
    Yespo's addTelegramBotMessage answers."""
    return MessageId(id=service.create_message(conn, principal.organization_id, body))


@router.get("/messages/telegram", response_model=list[MessageOut])
def list_messages(
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
    search: Annotated[
        str | None, Query(max_length=300, description="Part of the name, or a tag")
    ] = None,
) -> list[MessageOut]:
    """The organisation's messages, newest first; the total is in the TotalCount header."""
    items, total = service.list_messages(
        conn, principal.organization_id, search, page.offset, page.maxrows
    )
    set_total(response, total)
    return items


@router.get("/messages/telegram/{message_id}", response_model=MessageOut)
def get_message(message_id: int, principal: CurrentPrincipal, conn: ReadConn) -> MessageOut:
    return service.get_message(conn, principal.organization_id, message_id)


@router.put("/messages/telegram/{message_id}", response_model=MessageOut)
def replace_message(
    message_id: int, body: MessageIn, principal: CurrentPrincipal, conn: WriteConn
) -> MessageOut:
    """Replaces the whole message (fields left out become empty)."""
    return service.replace_message(conn, principal.organization_id, message_id, body)


@router.delete("/messages/telegram/{message_id}", response_model=MessageId, responses=problems(409))
def delete_message(message_id: int, principal: CurrentPrincipal, conn: WriteConn) -> MessageId:
    """Deletes the message; 409 while a broadcast uses it. 200 with the id, as Yespo
    answers."""
    service.delete_message(conn, principal.organization_id, message_id)
    return MessageId(id=message_id)

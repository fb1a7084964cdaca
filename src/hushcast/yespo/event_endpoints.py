"""Events (POST /v1/event and /v2/event) and activity for reporting tools
(GET /v2/contacts/activity, /v2/contacts/messages; GET /v1/contact/{id}/activity)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import ReadConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc, problems
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import event_service as service
from hushcast.yespo.event_schemas import (
    ActivityItem,
    ContactActivityOut,
    ContactMessageItem,
    EventDoc,
)

v1 = APIRouter(tags=["events and activity"])
v2 = APIRouter(tags=["events and activity"])


async def _event(request: Request, principal: CurrentPrincipal) -> Response:
    raw = await request.body()

    def apply() -> None:
        body = parse_json_object(raw)
        with get_db(request).transaction() as conn:
            service.record_event(conn, principal.organization_id, body)

    await run_in_threadpool(apply)
    return Response(status_code=200)


@v1.post("/event", response_class=Response, openapi_extra=body_doc(EventDoc))
async def event_v1(request: Request, principal: CurrentPrincipal) -> Response:
    """Stores the event with the contact its params name (ContactId, ExternalCustomerId,
    EmailAddress, Phone, TelegramBotToken); 200 with an empty body."""
    return await _event(request, principal)


@v2.post(
    "/event",
    response_class=Response,
    openapi_extra=body_doc(EventDoc),
    responses=problems(401, 429),
)
async def event_v2(request: Request, principal: CurrentPrincipal) -> Response:
    """As POST /v1/event."""
    return await _event(request, principal)


@v1.get("/contact/{contact_id}/activity", response_model=ContactActivityOut)
def contact_activity(
    contact_id: int, principal: CurrentPrincipal, conn: ReadConn
) -> ContactActivityOut:
    """The contact's latest 100 events and messages (Hushcast extension)."""
    return service.contact_activity(conn, principal.organization_id, contact_id)


@v2.get("/contacts/activity", response_model=list[ActivityItem], responses=problems(401, 429))
def contacts_activity(
    principal: CurrentPrincipal,
    conn: ReadConn,
    dateFrom: str | None = None,
    dateTo: str | None = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    sms: Annotated[str | None, Query(max_length=50)] = None,
    activityStatus: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[str | None, Query(max_length=40)] = None,
    maxrows: Annotated[int, Query(ge=1, le=service.MAX_ACTIVITY_ROWS)] = service.MAX_ACTIVITY_ROWS,
) -> list[ActivityItem]:
    """Telegram message activity (mediaType telegrambot) between dateFrom and dateTo:
    DELIVERED, CLICKED, UNDELIVERED (statusDescription: BOT_SEND_ERROR, CHANNEL_WAS_MUTED,
    ...). Next page: ``offset`` = the last item's ``offset``."""
    return service.activity(
        conn,
        principal.organization_id,
        dateFrom,
        dateTo,
        offset,
        maxrows,
        activityStatus,
        {"email": email, "sms": sms},
    )


@v2.get(
    "/contacts/messages",
    response_model=list[ContactMessageItem],
    responses=problems(401, 429),
)
def contact_messages(
    principal: CurrentPrincipal,
    conn: ReadConn,
    dateFrom: str | None = None,
    dateTo: str | None = None,
    contactId: Annotated[str | None, Query(max_length=20)] = None,
    externalCustomerId: Annotated[str | None, Query(max_length=200)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=50)] = None,
    channelTypes: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    maxrows: Annotated[int, Query(ge=1, le=service.MAX_MESSAGES_ROWS)] = 10,
) -> list[ContactMessageItem]:
    """One contact's Telegram messages (channelType telegrambot) between the dates."""
    return service.contact_messages(
        conn,
        principal.organization_id,
        dateFrom,
        dateTo,
        {
            "contactId": contactId,
            "externalCustomerId": externalCustomerId,
            "email": email,
            "phone": phone,
        },
        channelTypes,
        offset,
        maxrows,
    )

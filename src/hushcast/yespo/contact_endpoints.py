"""Yespo's contact calls the contacts module does not serve: search, PUT, delete by
externalCustomerId, subscribe, custom field ids (addressbooks), import status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.contacts.schemas import DeletedId
from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc, problems
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.core.retry import run_transaction
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import contact_read_service as reading
from hushcast.yespo import contact_service as service
from hushcast.yespo.contact_schemas import (
    AddressBooksOut,
    ContactIdOut,
    ImportStatus,
    SubscribeDoc,
    YespoContactDoc,
    YespoContactOut,
)

router = APIRouter(tags=["contacts and tokens"])


@router.get("/contacts", response_model=list[YespoContactOut])
def search_contacts(
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
    email: Annotated[str | None, Query(max_length=320)] = None,
    sms: Annotated[str | None, Query(max_length=50)] = None,
    externalCustomerId: Annotated[str | None, Query(max_length=200)] = None,
    firstname: Annotated[str | None, Query(max_length=200)] = None,
    lastname: Annotated[str | None, Query(max_length=200)] = None,
    contactKey: Annotated[str | None, Query(max_length=200)] = None,
) -> list[YespoContactOut]:
    """Contacts matching every given parameter exactly (none: all), in id order; the
    total in TotalCount."""
    params = {
        "email": email,
        "sms": sms,
        "externalCustomerId": externalCustomerId,
        "firstname": firstname,
        "lastname": lastname,
        "contactKey": contactKey,
    }
    items, total = reading.search(
        conn, principal.organization_id, params, page.offset, page.maxrows
    )
    set_total(response, total)
    return items


@router.put(
    "/contact/{contact_id}", response_model=ContactIdOut, openapi_extra=body_doc(YespoContactDoc)
)
async def update_contact(
    contact_id: int, request: Request, principal: CurrentPrincipal
) -> ContactIdOut:
    """Changes the contact (Yespo's Contact body); 404 when there is none."""
    raw = await request.body()

    def apply() -> None:
        body = parse_json_object(raw)
        run_transaction(
            get_db(request),
            lambda conn: service.update_contact(conn, principal.organization_id, contact_id, body),
        )

    await run_in_threadpool(apply)
    return ContactIdOut(id=contact_id)


@router.delete("/contact", response_model=DeletedId, responses=problems(404))
def delete_contact_by_external_id(
    principal: CurrentPrincipal,
    conn: WriteConn,
    externalCustomerId: Annotated[str | None, Query(max_length=200)] = None,
    erase: bool = False,
) -> DeletedId:
    """Deletes the contact holding this externalCustomerId. Deleting always erases the
    contact here (``erase`` is accepted for Yespo clients)."""
    del erase
    return DeletedId(
        id=service.delete_by_external_id(conn, principal.organization_id, externalCustomerId)
    )


@router.post(
    "/contact/subscribe", response_model=ContactIdOut, openapi_extra=body_doc(SubscribeDoc)
)
async def subscribe(request: Request, principal: CurrentPrincipal) -> ContactIdOut:
    """Adds or updates the contact and adds it to ``groups`` (by name, created if missing)."""
    raw = await request.body()

    def apply() -> ContactIdOut:
        body = parse_json_object(raw)
        cid = run_transaction(
            get_db(request), lambda conn: service.subscribe(conn, principal.organization_id, body)
        )
        return ContactIdOut(id=cid)

    return await run_in_threadpool(apply)


@router.get("/addressbooks", response_model=AddressBooksOut)
def address_books(principal: CurrentPrincipal, conn: ReadConn) -> AddressBooksOut:
    """The custom contact fields with the ids ``fields: [{"id", "value"}]`` takes. A field
    gets its id the first time a contact is written with it by name."""
    return reading.address_books(conn, principal.organization_id)


@router.get("/importstatus/{session_id}", response_model=ImportStatus)
def import_status(session_id: str, principal: CurrentPrincipal, conn: ReadConn) -> ImportStatus:
    """The outcome of POST /v1/contacts (imports run at once, so always FINISHED)."""
    return service.import_status(conn, principal.organization_id, session_id)

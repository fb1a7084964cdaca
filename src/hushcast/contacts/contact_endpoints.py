"""HTTP endpoints for contacts: add/update one or many, read, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.contacts import contact_service as service
from hushcast.contacts.schemas import (
    ContactItemDoc,
    ContactOut,
    ContactsBodyDoc,
    ContactsUpsertResult,
    ContactUpsertResult,
)
from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.core.retry import run_transaction
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["contacts and tokens"])


@router.post("/contact", response_model=ContactUpsertResult, openapi_extra=body_doc(ContactItemDoc))
async def upsert_contact(request: Request, principal: CurrentPrincipal) -> ContactUpsertResult:
    """Adds or updates one contact, matched by contactId, then externalCustomerId, then
    phone, then email. Given attributes replace the stored ones; custom fields merge by
    name (null removes a field)."""
    raw = await request.body()

    def apply() -> ContactUpsertResult:
        item = service.parse_contact_item(parse_json_object(raw))
        return run_transaction(
            get_db(request),
            lambda conn: service.upsert_contact(conn, principal.organization_id, item),
        )

    return await run_in_threadpool(apply)


@router.post(
    "/contacts", response_model=ContactsUpsertResult, openapi_extra=body_doc(ContactsBodyDoc)
)
async def upsert_contacts(request: Request, principal: CurrentPrincipal) -> ContactsUpsertResult:
    """Adds or updates up to 10,000 contacts, applied whole or not at all. Later items
    match contacts created or changed by earlier ones."""
    raw = await request.body()

    def apply() -> ContactsUpsertResult:
        items = service.parse_contacts_body(parse_json_object(raw))
        return run_transaction(
            get_db(request),
            lambda conn: service.upsert_contacts_bulk(conn, principal.organization_id, items),
        )

    return await run_in_threadpool(apply)


@router.get("/contact/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: int, principal: CurrentPrincipal, conn: ReadConn) -> ContactOut:
    """The contact with custom fields, tokens (with the mute in force) and groups."""
    return service.get_contact(conn, principal.organization_id, contact_id)


@router.delete("/contact/{contact_id}", status_code=204)
def delete_contact(contact_id: int, principal: CurrentPrincipal, conn: WriteConn) -> Response:
    """Deletes the contact with its tokens and group memberships (mutes stay)."""
    service.delete_contact(conn, principal.organization_id, contact_id)
    return Response(status_code=204)

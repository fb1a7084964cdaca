"""HTTP endpoints for contacts: add/update one or many, read, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from hushcast.contacts import contact_service as service
from hushcast.contacts.schemas import ContactUpsertResult, DeletedId
from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.core.retry import run_transaction
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import contact_read_service as yespo_reading
from hushcast.yespo import contact_service as yespo
from hushcast.yespo.contact_schemas import (
    BulkUpsertResult,
    ContactsBulkUpdateDoc,
    YespoContactDetail,
    YespoContactDoc,
)

router = APIRouter(tags=["contacts and tokens"])


@router.post(
    "/contact", response_model=ContactUpsertResult, openapi_extra=body_doc(YespoContactDoc)
)
async def upsert_contact(request: Request, principal: CurrentPrincipal) -> ContactUpsertResult:
    """Adds or updates one contact (Yespo's Contact, or the flat shape), matched by
    contactId, then externalCustomerId, then phone, then email. Given attributes replace
    the stored ones; custom fields merge by id or name (null removes a field); groups
    named in ``groups`` are joined (and created if missing)."""
    raw = await request.body()

    def apply() -> ContactUpsertResult:
        body = parse_json_object(raw)
        return run_transaction(
            get_db(request),
            lambda conn: yespo.upsert_one(conn, principal.organization_id, body),
        )

    return await run_in_threadpool(apply)


@router.post(
    "/contacts", response_model=BulkUpsertResult, openapi_extra=body_doc(ContactsBulkUpdateDoc)
)
async def upsert_contacts(request: Request, principal: CurrentPrincipal) -> BulkUpsertResult:
    """Adds or updates up to 10,000 contacts (Yespo's ContactsBulkUpdate: dedupeOn,
    contactFields, customFieldsIDs, groupNames, groupNamesExclude), applied whole or not
    at all, at once: ``asyncSessionId``'s import status is FINISHED already. Later items
    match contacts created or changed by earlier ones."""
    raw = await request.body()

    def apply() -> BulkUpsertResult:
        contacts, opts = yespo.parse_bulk(parse_json_object(raw))
        return run_transaction(
            get_db(request),
            lambda conn: yespo.upsert_bulk(conn, principal.organization_id, contacts, opts),
        )

    return await run_in_threadpool(apply)


@router.get("/contact/{contact_id}", response_model=YespoContactDetail)
def get_contact(contact_id: int, principal: CurrentPrincipal, conn: ReadConn) -> YespoContactDetail:
    """The contact in Yespo's shape (channels, address, fields with ids, groups) with its
    tokens (with the mute in force)."""
    return yespo_reading.get_contact(conn, principal.organization_id, contact_id)


@router.delete("/contact/{contact_id}", response_model=DeletedId)
def delete_contact(contact_id: int, principal: CurrentPrincipal, conn: WriteConn) -> DeletedId:
    """Deletes the contact with its tokens and group memberships (mutes stay). 200 with
    the id, as Yespo answers (its clients treat 204 as an unexpected status)."""
    service.delete_contact(conn, principal.organization_id, contact_id)
    return DeletedId(id=contact_id)

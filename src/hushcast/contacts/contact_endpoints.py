"""HTTP endpoints for contacts: add/update one or many, read, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from hushcast.contacts import contact_service as service
from hushcast.contacts.schemas import (
    ContactItemDoc,
    ContactOut,
    ContactsBodyDoc,
    ContactsUpsertResult,
    ContactUpsertResult,
)
from hushcast.core.deps import CurrentPrincipal, ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object

router = APIRouter(tags=["contacts and tokens"])


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with local ``$defs`` references replaced by the definitions."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """Documents a body that the endpoint reads by hand (self-contained schema)."""
    raw = model.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


@router.post(
    "/contact", response_model=ContactUpsertResult, openapi_extra=_body_doc(ContactItemDoc)
)
async def upsert_contact(request: Request, principal: CurrentPrincipal) -> ContactUpsertResult:
    """Adds or updates one contact, matched by contactId, then externalCustomerId, then
    phone, then email. Given attributes replace the stored ones; custom fields merge by
    name (null removes a field)."""
    raw = await request.body()

    def apply() -> ContactUpsertResult:
        item = service.parse_contact_item(parse_json_object(raw))
        with get_db(request).transaction() as conn:
            return service.upsert_contact(conn, principal.organization_id, item)

    return await run_in_threadpool(apply)


@router.post(
    "/contacts", response_model=ContactsUpsertResult, openapi_extra=_body_doc(ContactsBodyDoc)
)
async def upsert_contacts(request: Request, principal: CurrentPrincipal) -> ContactsUpsertResult:
    """Adds or updates up to 10,000 contacts, applied whole or not at all. Later items
    match contacts created or changed by earlier ones."""
    raw = await request.body()

    def apply() -> ContactsUpsertResult:
        items = service.parse_contacts_body(parse_json_object(raw))
        with get_db(request).transaction() as conn:
            return service.upsert_contacts_bulk(conn, principal.organization_id, items)

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

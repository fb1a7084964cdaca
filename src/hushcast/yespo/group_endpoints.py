"""Groups by Yespo's paths: /v1/group/{id}/contacts, .../attach, .../detach (the
/v1/groups/{id}/contacts routes stay)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.groups import service as groups
from hushcast.groups.schemas import GroupAdded, GroupMembers, GroupRemoved
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import contact_read_service, group_service
from hushcast.yespo.contact_schemas import YespoContactOut

router = APIRouter(tags=["groups"])


@router.get("/group/{group_id}/contacts", response_model=list[YespoContactOut])
def group_contacts(
    group_id: int,
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
) -> list[YespoContactOut]:
    """The group's contacts in Yespo's Contact shape; total in TotalCount."""
    items, total = contact_read_service.group_members(
        conn, principal.organization_id, group_id, page.offset, page.maxrows
    )
    set_total(response, total)
    return items


@router.post("/group/{group_id}/contacts/attach", response_model=GroupAdded)
def attach(
    group_id: int, body: GroupMembers, principal: CurrentPrincipal, conn: WriteConn
) -> GroupAdded:
    """Adds contacts by id (``contactIds``) or externalCustomerId; members already in
    the group are left alone. Any unknown id answers 400 and nothing is added."""
    return GroupAdded(added=groups.add_members(conn, principal.organization_id, group_id, body))


@router.post(
    "/group/{group_id}/contacts/detach",
    response_model=GroupRemoved,
    openapi_extra=body_doc(GroupMembers),
)
async def detach(group_id: int, request: Request, principal: CurrentPrincipal) -> GroupRemoved:
    """Removes contacts by id (``contactIds``) or externalCustomerId; with no body, every
    contact of the group (Yespo's "delete all contacts from a static segment")."""
    raw = await request.body()

    def apply() -> GroupRemoved:
        body = parse_json_object(raw) if raw.strip() else None
        with get_db(request).transaction() as conn:
            removed = group_service.detach(conn, principal.organization_id, group_id, body)
        return GroupRemoved(removed=removed)

    return await run_in_threadpool(apply)

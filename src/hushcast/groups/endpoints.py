"""HTTP endpoints for groups (static segments of contacts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from hushcast.core.deps import ReadConn, WriteConn
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.groups import service
from hushcast.groups.schemas import (
    GroupAdded,
    GroupContactOut,
    GroupCreate,
    GroupMembers,
    GroupOut,
    GroupRemoved,
)
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["groups"])


@router.post("/groups", response_model=GroupOut, status_code=201)
def create_group(body: GroupCreate, principal: CurrentPrincipal, conn: WriteConn) -> GroupOut:
    """Creates an empty static group."""
    return service.create_group(conn, principal.organization_id, body.name)


@router.get("/groups", response_model=list[GroupOut])
def list_groups(
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
) -> list[GroupOut]:
    """The organisation's groups with their member counts; total in TotalCount."""
    items, total = service.list_groups(conn, principal.organization_id, page.offset, page.maxrows)
    set_total(response, total)
    return items


@router.get("/groups/{group_id}", response_model=GroupOut)
def get_group(group_id: int, principal: CurrentPrincipal, conn: ReadConn) -> GroupOut:
    return service.get_group(conn, principal.organization_id, group_id)


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: int, principal: CurrentPrincipal, conn: WriteConn) -> Response:
    """Deletes the group and its memberships (the contacts stay)."""
    service.delete_group(conn, principal.organization_id, group_id)
    return Response(status_code=204)


@router.post("/groups/{group_id}/contacts", response_model=GroupAdded)
def add_group_contacts(
    group_id: int, body: GroupMembers, principal: CurrentPrincipal, conn: WriteConn
) -> GroupAdded:
    """Adds contacts by id or externalCustomerId (up to 10,000); members already in the
    group are ignored. Any unknown id answers 400 and nothing is added."""
    added = service.add_members(conn, principal.organization_id, group_id, body)
    return GroupAdded(added=added)


@router.delete("/groups/{group_id}/contacts", response_model=GroupRemoved)
def remove_group_contacts(
    group_id: int, body: GroupMembers, principal: CurrentPrincipal, conn: WriteConn
) -> GroupRemoved:
    """Removes contacts by id or externalCustomerId. Any unknown id answers 400 and
    nothing is removed."""
    removed = service.remove_members(conn, principal.organization_id, group_id, body)
    return GroupRemoved(removed=removed)


@router.get("/groups/{group_id}/contacts", response_model=list[GroupContactOut])
def list_group_contacts(
    group_id: int,
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
) -> list[GroupContactOut]:
    """The group's contacts by id; total in TotalCount."""
    items, total = service.list_members(
        conn, principal.organization_id, group_id, page.offset, page.maxrows
    )
    set_total(response, total)
    return items

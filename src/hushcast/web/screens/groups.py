"""Groups: list and create, one group's members, adding and removing members by selection
or from a CSV of contact ids / externalCustomerIds, deleting a group."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError, BadRequest
from hushcast.groups import service as groups_service
from hushcast.groups.schemas import MAX_MEMBERS_PER_REQUEST, GroupCreate, GroupMembers
from hushcast.web import csv_import
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    check_id,
    field_errors,
    org_of,
    pages,
    redirect,
    render,
    router,
    safe_next,
)

GROUPS_PAGE = 50
MEMBERS_PAGE = 50


def _groups_page(
    request: Request,
    session: UISession,
    page: int = 1,
    status: int = 200,
    error: str | None = None,
    name: str = "",
) -> Response:
    with get_db(request).read() as conn:
        items, total = groups_service.list_groups(
            conn, org_of(session), (page - 1) * GROUPS_PAGE, GROUPS_PAGE
        )
    return render(
        request,
        session,
        "groups.html",
        status_code=status,
        groups=items,
        error=error,
        group_name=name,
        paging=pages(total, page, GROUPS_PAGE),
        query_base="",
    )


@router.get("/groups")
def groups_page(
    request: Request, session: SessionDep, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1
) -> Response:
    return _groups_page(request, session, page)


@router.post("/groups")
def create_group(
    request: Request, session: CsrfSession, name: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    try:
        body = GroupCreate.model_validate({"name": name})
    except ValidationError as exc:
        msg = field_errors(exc).get("name", "Enter a name")
        return _groups_page(request, session, 1, 400, f"Name {msg}", name)
    with get_db(request).transaction() as conn:
        group = groups_service.create_group(conn, org_of(session), body.name)
    return redirect(f"/ui/groups/{group.id}")


@router.get("/groups/{group_id}")
def group_page(
    request: Request,
    session: SessionDep,
    group_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: Annotated[str, Query(max_length=300)] = "",
    error: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        group = groups_service.get_group(conn, org_id, check_id(group_id))
        members, total = groups_service.list_members(
            conn, org_id, group.id, (page - 1) * MEMBERS_PAGE, MEMBERS_PAGE
        )
    return render(
        request,
        session,
        "group.html",
        group=group,
        members=members,
        ok=done or None,
        error=error or None,
        paging=pages(total, page, MEMBERS_PAGE),
        query_base="",
    )


def _back(target: str, **note: str) -> Response:
    target = safe_next(target)
    sep = "&" if "?" in target else "?"
    return redirect(f"{target}{sep}{urlencode(note)}")


def _members(ids: list[str]) -> GroupMembers:
    numbers = [int(i) for i in ids if i.strip().isdigit()]
    if not numbers:
        raise BadRequest("Select at least one contact")
    return GroupMembers(contactIds=numbers)


@router.post("/groups/{group_id}/members")
def change_members(
    request: Request,
    session: CsrfSession,
    group_id: int,
    action: Annotated[str, Form(max_length=10)] = "add",
    contact: Annotated[list[str] | None, Form(max_length=MAX_MEMBERS_PER_REQUEST)] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Removes (on the group's page) or adds the selected contacts."""
    return apply_selection(request, session, group_id, action, contact or [], back)


def apply_selection(
    request: Request,
    session: UISession,
    group_id: int,
    action: str,
    contact_ids: list[str],
    back: str,
) -> Response:
    target = back or f"/ui/groups/{group_id}"
    try:
        body = _members(contact_ids)
        with get_db(request).transaction() as conn:
            if action == "remove":
                n = groups_service.remove_members(conn, org_of(session), check_id(group_id), body)
                note = f"Removed {n} from the group"
            else:
                n = groups_service.add_members(conn, org_of(session), check_id(group_id), body)
                note = f"Added {n} to the group"
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _back(target, error=exc.detail[:300])
    return _back(target, done=note)


@router.post("/groups/{group_id}/csv")
async def members_csv(
    request: Request,
    session: CsrfSession,
    group_id: int,
    action: Annotated[str, Form(max_length=10)] = "add",
    file: UploadFile | None = None,
) -> Response:
    """A CSV with a contact id or externalCustomerId per row (first column or a column
    named contactId / externalCustomerId): all of them are added or removed, or none."""
    target = f"/ui/groups/{group_id}"
    try:
        if file is None or not file.filename:
            raise BadRequest("Choose a CSV file")
        table = csv_import.read_table(await file.read(csv_import.MAX_BYTES + 1))
        body = _csv_members(table)
    except (csv_import.CsvError, ApiError) as exc:
        return _back(target, error=str(getattr(exc, "detail", exc))[:300])
    try:
        with get_db(request).transaction() as conn:
            if action == "remove":
                n = groups_service.remove_members(conn, org_of(session), check_id(group_id), body)
                note = f"Removed {n} from the group"
            else:
                n = groups_service.add_members(conn, org_of(session), check_id(group_id), body)
                note = f"Added {n} to the group"
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _back(target, error=exc.detail[:300])
    return _back(target, done=note)


def _csv_members(table: csv_import.Table) -> GroupMembers:
    names = [h.strip().lower() for h in table.header]
    if table.has_header and "contactid" in names:
        col, kind = names.index("contactid"), "id"
    elif table.has_header and "externalcustomerid" in names:
        col, kind = names.index("externalcustomerid"), "ext"
    else:
        col = 0
        values = [r[0] for r in table.rows if r[0]]
        kind = "id" if values and all(v.isdigit() for v in values) else "ext"
    values = [r[col] for r in table.rows if r[col]]
    if not values:
        raise BadRequest("The file has no contact ids")
    if len(values) > MAX_MEMBERS_PER_REQUEST:
        raise BadRequest(f"At most {MAX_MEMBERS_PER_REQUEST} contacts per file")
    if kind == "id":
        if not all(v.isdigit() for v in values):
            raise BadRequest("The contactId column must hold numbers")
        return GroupMembers(contactIds=[int(v) for v in values])
    return GroupMembers(externalCustomerIds=values)


@router.post("/groups/{group_id}/delete")
def delete_group(request: Request, session: CsrfSession, group_id: int) -> Response:
    with get_db(request).transaction() as conn:
        groups_service.delete_group(conn, org_of(session), check_id(group_id))
    return redirect("/ui/groups")

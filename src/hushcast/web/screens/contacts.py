"""Contacts: the list with search (and adding the selected ones to a group), and one
contact with its chats, fields, groups and recent activity."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import Response

from hushcast.contacts import contact_service
from hushcast.core.deps import get_db
from hushcast.groups import service as groups_service
from hushcast.groups.schemas import MAX_MEMBERS_PER_REQUEST
from hushcast.reports import service as reports_service
from hushcast.web.screens.groups import apply_selection
from hushcast.web.ui import CsrfSession, SessionDep, check_id, org_of, pages, render, router

CONTACTS_PAGE = 50
PICK_LIMIT = 500


@router.get("/contacts")
def contacts_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        items, total = contact_service.list_contacts(
            conn, org_id, q.strip() or None, (page - 1) * CONTACTS_PAGE, CONTACTS_PAGE
        )
        groups, _ = groups_service.list_groups(conn, org_id, 0, PICK_LIMIT)
    query_base = urlencode({"q": q}) if q else ""
    return render(
        request,
        session,
        "contacts.html",
        contacts=items,
        groups=groups,
        q=q,
        ok=done[:200] or None,
        paging=pages(total, page, CONTACTS_PAGE),
        query_base=query_base,
        back="/ui/contacts" + (f"?{query_base}" if query_base else ""),
    )


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, session: SessionDep, contact_id: int) -> Response:
    org_id = org_of(session)
    with get_db(request).read() as conn:
        contact = contact_service.get_contact(conn, org_id, check_id(contact_id))
        activity = reports_service.contact_activity(conn, org_id, contact.id)
    return render(request, session, "contact.html", c=contact, activity=activity)


@router.post("/contacts/add-to-group")
def add_to_group(
    request: Request,
    session: CsrfSession,
    group_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    contact: Annotated[list[str] | None, Form(max_length=MAX_MEMBERS_PER_REQUEST)] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The API's POST /v1/groups/{id}/contacts with the contacts selected in the list."""
    return apply_selection(request, session, group_id, "add", contact or [], back or "/ui/contacts")

"""HTTP endpoints for contact tokens (and, in contact_endpoints, contacts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from hushcast.bots.service import resolve_app
from hushcast.contacts import service
from hushcast.contacts.schemas import TokenOut, TokensBodyDoc, TokensResult
from hushcast.core.deps import ReadConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.core.retry import run_transaction
from hushcast.orgs.deps import CurrentPrincipal

router = APIRouter(tags=["contacts and tokens"])


@router.post(
    "/apps/{app_uuid}/tokens",
    response_model=TokensResult,
    openapi_extra=body_doc(TokensBodyDoc),
)
async def add_tokens(app_uuid: str, request: Request, principal: CurrentPrincipal) -> TokensResult:
    """Registers chat ids ("tokens") of a bot's subscribers, matched to contacts by
    contactId, then externalCustomerId, then phone, then email. Up to 10,000 per
    request, applied whole or not at all."""
    raw = await request.body()

    def apply(conn: Connection) -> TokensResult:
        app = resolve_app(conn, principal.organization_id, app_uuid)
        items = service.parse_token_items(parse_json_object(raw))
        return service.register_tokens(conn, principal.organization_id, app.id, items)

    # Run again from scratch when a concurrent request registered the same contact or
    # token first (unique keys): the retry finds it and both requests agree.
    return await run_in_threadpool(run_transaction, get_db(request), apply)


@router.get("/apps/{app_uuid}/tokens", response_model=list[TokenOut])
def list_tokens(
    app_uuid: str,
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> list[TokenOut]:
    """The bot's tokens with contact identifiers, active flag and current mute."""
    app = resolve_app(conn, principal.organization_id, app_uuid)
    items, total = service.list_tokens(conn, app.id, page.offset, page.maxrows, search)
    set_total(response, total)
    return items

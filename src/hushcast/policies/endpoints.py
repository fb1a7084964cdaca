"""Eligibility policies (docs/policies.md): organisation defaults, bot overrides,
contact quiet hours."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.jsonbody import parse_json_object
from hushcast.core.openapi import body_doc
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.policies import service
from hushcast.policies.schemas import (
    BotPoliciesOut,
    ContactQuietHoursDoc,
    ContactQuietHoursOut,
    PoliciesDoc,
    PoliciesOut,
)

router = APIRouter(tags=["policies"])


async def _in_transaction(request: Request, work: Any) -> Any:
    raw = await request.body()

    def apply() -> Any:
        body = parse_json_object(raw)
        with get_db(request).transaction() as conn:
            return work(conn, body)

    return await run_in_threadpool(apply)


@router.get("/policies", response_model=PoliciesOut)
def get_policies(principal: CurrentPrincipal, conn: ReadConn) -> PoliciesOut:
    """The organisation's defaults: quiet hours, frequency cap, default time zone."""
    return service.get_org(conn, principal.organization_id)


@router.put("/policies", response_model=PoliciesOut, openapi_extra=body_doc(PoliciesDoc))
async def put_policies(request: Request, principal: CurrentPrincipal) -> Any:
    """Replaces the organisation's defaults (absent or null: none)."""
    org = principal.organization_id
    return await _in_transaction(request, lambda conn, body: service.put_org(conn, org, body))


@router.get("/apps/{app_uuid}/policies", response_model=BotPoliciesOut)
def get_app_policies(app_uuid: str, principal: CurrentPrincipal, conn: ReadConn) -> Any:
    """The bot's overrides and what applies to it."""
    return service.get_app(conn, principal.organization_id, app_uuid)


@router.put(
    "/apps/{app_uuid}/policies", response_model=BotPoliciesOut, openapi_extra=body_doc(PoliciesDoc)
)
async def put_app_policies(app_uuid: str, request: Request, principal: CurrentPrincipal) -> Any:
    """Replaces the bot's overrides (absent or null: the organisation's default)."""
    org = principal.organization_id
    return await _in_transaction(
        request, lambda conn, body: service.put_app(conn, org, app_uuid, body)
    )


@router.get("/contact/{contact_id}/quiet-hours", response_model=ContactQuietHoursOut)
def get_contact_quiet_hours(
    contact_id: int, principal: CurrentPrincipal, conn: ReadConn
) -> ContactQuietHoursOut:
    """The contact's own quiet hours (null: the bot's or organisation's apply)."""
    return service.get_contact(conn, principal.organization_id, contact_id)


@router.put(
    "/contact/{contact_id}/quiet-hours",
    response_model=ContactQuietHoursOut,
    openapi_extra=body_doc(ContactQuietHoursDoc),
)
async def put_contact_quiet_hours(
    contact_id: int, request: Request, principal: CurrentPrincipal
) -> Any:
    """Sets the contact's quiet hours, in the contact's timeZone."""
    org = principal.organization_id
    return await _in_transaction(
        request, lambda conn, body: service.put_contact(conn, org, contact_id, body)
    )


@router.delete("/contact/{contact_id}/quiet-hours", status_code=204)
def delete_contact_quiet_hours(
    contact_id: int, principal: CurrentPrincipal, conn: WriteConn
) -> Response:
    """Removes the contact's own quiet hours."""
    service.delete_contact(conn, principal.organization_id, contact_id)
    return Response(status_code=204)

"""GET /v1/account/info and /v1/version (the calls clients make first to check the
key), and Yespo's token look-ups by app and token."""

from __future__ import annotations

from fastapi import APIRouter

from hushcast.core.deps import ReadConn, WriteConn
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import account_service as service
from hushcast.yespo.account_schemas import (
    AccountInfo,
    TokenActivation,
    TokenContactId,
    VersionOut,
)

router = APIRouter(tags=["account"])


@router.get("/account/info", response_model=AccountInfo)
def account_info(principal: CurrentPrincipal, conn: ReadConn) -> AccountInfo:
    """The organisation the key belongs to (Yespo clients check credentials with this)."""
    return service.account_info(conn, principal)


@router.get("/version", response_model=VersionOut)
def version(principal: CurrentPrincipal) -> VersionOut:
    """The API version (Yespo's) and this service's version."""
    del principal
    return service.version()


@router.get(
    "/contact/token/{app_uuid}/{token}/contactId",
    response_model=TokenContactId,
    tags=["contacts and tokens"],
)
def token_contact_id(
    app_uuid: str, token: str, principal: CurrentPrincipal, conn: ReadConn
) -> TokenContactId:
    """The id of the contact holding this bot's token (chat id); 404 if none does."""
    return service.token_contact_id(conn, principal.organization_id, app_uuid, token)


@router.get(
    "/contact/token/activated/{app_uuid}/{token}",
    response_model=TokenActivation,
    tags=["contacts and tokens"],
)
def token_activation(
    app_uuid: str, token: str, principal: CurrentPrincipal, conn: ReadConn
) -> TokenActivation:
    """Whether the token receives messages (false after the user blocked the bot)."""
    return service.token_activation(conn, principal.organization_id, app_uuid, token)


@router.put(
    "/contact/token/activated/{app_uuid}/{token}",
    response_model=TokenActivation,
    tags=["contacts and tokens"],
)
def set_token_activation(
    app_uuid: str, token: str, body: TokenActivation, principal: CurrentPrincipal, conn: WriteConn
) -> TokenActivation:
    """Deactivates or reactivates the token."""
    return service.set_token_activation(
        conn, principal.organization_id, app_uuid, token, body.active
    )

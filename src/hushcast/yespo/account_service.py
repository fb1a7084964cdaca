"""Credential checks (account/info, version) and Yespo's token look-ups. Never commits."""

from __future__ import annotations

from sqlalchemy import Connection

from hushcast import __version__
from hushcast.bots.service import resolve_app
from hushcast.core.chat_ids import normalize_chat_id
from hushcast.core.errors import NotFound
from hushcast.core.timeutil import utcnow
from hushcast.orgs.service import Principal
from hushcast.webhooks import outbox as webhook_outbox
from hushcast.yespo import account_repository as repo
from hushcast.yespo.account_schemas import AccountInfo, TokenActivation, TokenContactId, VersionOut

# The Yespo API version whose shapes this service answers in.
YESPO_API_VERSION = "1.0"
TOKEN_NOT_FOUND = "Token not found"


def account_info(conn: Connection, principal: Principal) -> AccountInfo:
    """Yespo answers with the key owner's e-mail; keys here have no owner, so the key's
    name stands in when it is an e-mail address, else an empty string."""
    name = repo.key_name(conn, principal.api_key_id) or ""
    return AccountInfo(
        userEmail=name if "@" in name else "",
        organisationName=repo.organization_name(conn, principal.organization_id),
    )


def version() -> VersionOut:
    return VersionOut(version=YESPO_API_VERSION, hushcast=__version__)


def _token_row(conn: Connection, org_id: int, app_uuid: str, token: str) -> tuple[int, int, bool]:
    app = resolve_app(conn, org_id, app_uuid)
    value = normalize_chat_id(token)
    row = repo.get_token(conn, app.id, value) if value is not None else None
    if row is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return int(row.id), int(row.contact_id), bool(row.active)


def token_contact_id(conn: Connection, org_id: int, app_uuid: str, token: str) -> TokenContactId:
    _, contact_id, _ = _token_row(conn, org_id, app_uuid, token)
    return TokenContactId(id=contact_id)


def token_activation(conn: Connection, org_id: int, app_uuid: str, token: str) -> TokenActivation:
    _, _, active = _token_row(conn, org_id, app_uuid, token)
    return TokenActivation(active=active)


def set_token_activation(
    conn: Connection, org_id: int, app_uuid: str, token: str, active: bool
) -> TokenActivation:
    """Deactivating stops broadcasts and sends to the token (as a blocked bot does);
    activating lets them through again."""
    app = resolve_app(conn, org_id, app_uuid)
    token_id, _, was_active = _token_row(conn, org_id, app_uuid, token)
    if was_active != active:
        repo.set_token_active(conn, token_id, active, utcnow())
        # In the same transaction: the "subscriber" webhook event of the change.
        webhook_outbox.record_activation(
            conn, int(app.id), normalize_chat_id(token) or token, active
        )
    return TokenActivation(active=active)

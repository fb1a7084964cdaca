"""The public click redirect (no API key: recipients' browsers call it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from hushcast.core.deps import get_db
from hushcast.core.errors import NotFound
from hushcast.core.timeutil import utcnow
from hushcast.tracking import repository
from hushcast.tracking.links import read_click_token
from hushcast.tracking.metrics import CLICKS
from hushcast.webhooks import outbox as webhook_outbox

router = APIRouter(tags=["click tracking"])


@router.get("/c/{token}", status_code=302, include_in_schema=True)
def click(token: str, request: Request) -> RedirectResponse:
    """Records the click and redirects to the message's original link."""
    # The current secret, then the previous one during a rotation (SECRET_KEY_PREVIOUS).
    parsed = next(
        (p for s in request.app.state.verify_secrets if (p := read_click_token(s, token))), None
    )
    if parsed is None:
        raise NotFound("Not found")
    with get_db(request).transaction() as conn:
        now = utcnow()
        if repository.record_click(conn, parsed.delivery_id, parsed.organization_id, now):
            CLICKS.inc()
            webhook_outbox.record_click(conn, parsed.delivery_id, parsed.link, now)
    return RedirectResponse(parsed.link, status_code=302)

"""``/v1/webhooks``: the organisation's receivers of events."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hushcast.core.deps import ReadConn, WriteConn, get_db
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.core.timeutil import utcnow
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.webhooks import repository as repo
from hushcast.webhooks import service
from hushcast.webhooks.config import WebhookSettings, get_webhook_settings
from hushcast.webhooks.events import body_of, iso_ms
from hushcast.webhooks.post import new_session, post
from hushcast.webhooks.schemas import (
    AttemptOut,
    FailedEventOut,
    SecretOut,
    TestResultOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Cfg = Annotated[WebhookSettings, Depends(get_webhook_settings)]


@router.post("", status_code=201, response_model=WebhookCreated)
def create(
    body: WebhookIn, principal: CurrentPrincipal, conn: WriteConn, cfg: Cfg
) -> WebhookCreated:
    """Creates a receiver; the answer holds its secret, shown this once."""
    return service.create(conn, principal.organization_id, body, cfg)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(principal: CurrentPrincipal, conn: ReadConn) -> list[WebhookOut]:
    return service.list_all(conn, principal.organization_id)


@router.get("/{webhook_id}", response_model=WebhookOut)
def get(webhook_id: int, principal: CurrentPrincipal, conn: ReadConn) -> WebhookOut:
    return service.out(conn, service.get_row(conn, principal.organization_id, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
def patch(
    webhook_id: int, body: WebhookPatch, principal: CurrentPrincipal, conn: WriteConn, cfg: Cfg
) -> WebhookOut:
    return service.update(conn, principal.organization_id, webhook_id, body, cfg)


@router.delete("/{webhook_id}", status_code=204)
def delete(webhook_id: int, principal: CurrentPrincipal, conn: WriteConn) -> Response:
    """Deletes the receiver and its undelivered events."""
    service.delete(conn, principal.organization_id, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=SecretOut)
def rotate_secret(
    webhook_id: int, principal: CurrentPrincipal, conn: WriteConn, cfg: Cfg
) -> SecretOut:
    """A new secret; the previous one signs beside it for 24 hours."""
    return service.rotate_secret(conn, principal.organization_id, webhook_id, cfg)


@router.get("/{webhook_id}/deliveries", response_model=list[AttemptOut])
def deliveries(
    webhook_id: int,
    principal: CurrentPrincipal,
    conn: ReadConn,
    response: Response,
    page: Annotated[Page, Depends(page_params)],
) -> list[AttemptOut]:
    """Recent POSTs, newest first: status, response code, latency, next retry."""
    rows, total = service.attempts(
        conn, principal.organization_id, webhook_id, page.offset, page.maxrows
    )
    set_total(response, total)
    return rows


@router.get("/{webhook_id}/failed-events", response_model=list[FailedEventOut])
def failed_events(
    webhook_id: int,
    principal: CurrentPrincipal,
    conn: ReadConn,
    maxrows: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[FailedEventOut]:
    """Events given up on after the retry window, newest first."""
    return service.failed(conn, principal.organization_id, webhook_id, maxrows)


@router.post("/{webhook_id}/test", response_model=TestResultOut)
async def test(webhook_id: int, request: Request, principal: CurrentPrincipal) -> TestResultOut:
    """POSTs one signed ``test`` event now and says how the receiver answered."""
    db = get_db(request)
    cfg = get_webhook_settings()
    org_id = principal.organization_id

    def load() -> object:
        with db.read() as conn:
            return service.get_row(conn, org_id, webhook_id)

    hook = await run_in_threadpool(load)
    event = {"id": str(uuid.uuid4()), "type": "test", "occurredAt": iso_ms(utcnow())}
    wid = int(hook.id)  # type: ignore[attr-defined]
    body = json.dumps(body_of(hook.format, wid, [event]), separators=(",", ":")).encode()  # type: ignore[attr-defined]
    async with new_session(cfg) as session:
        result = await post(session, hook.url, body, service.signing_secrets(hook), cfg)  # type: ignore[attr-defined]

    def record() -> None:
        with db.transaction() as conn:
            repo.insert_attempt(
                conn,
                {
                    "webhook_id": wid,
                    "at": utcnow(),
                    "events": 1,
                    "ok": result.ok,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "error": result.error,
                    "next_retry_at": None,
                    "test": True,
                },
            )

    await run_in_threadpool(record)
    return TestResultOut(
        ok=result.ok,
        statusCode=result.status_code,
        latencyMs=result.latency_ms,
        error=result.error,
    )

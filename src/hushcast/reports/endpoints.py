"""Report endpoints: broadcast report and its contact lists (JSON or streamed CSV), single
report of transactional and test sends, per-message totals. Thin: parse, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from hushcast.core.deps import ReadConn, get_db
from hushcast.core.pagination import Page, page_params, set_total
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.reports import service
from hushcast.reports.schemas import (
    BroadcastReportOut,
    MessageReportOut,
    ReportContact,
    SingleReportItem,
)

router = APIRouter(tags=["reports"])

BucketQuery = Annotated[
    str,
    Query(
        max_length=20,
        description="all, delivered (DELIVERED+CLICKED), clicked, unavailable, errors, "
        "inqueue (IN_QUEUE+SENDING) or cancelled",
    ),
]


@router.get("/broadcast/{broadcast_id}/report", response_model=BroadcastReportOut)
def broadcast_report(
    broadcast_id: int, principal: CurrentPrincipal, conn: ReadConn
) -> BroadcastReportOut:
    """Live counters of a broadcast (definitions in docs/outcomes.md)."""
    return service.broadcast_report(conn, principal.organization_id, broadcast_id)


@router.get(
    "/broadcast/{broadcast_id}/report/contacts",
    response_model=list[ReportContact],
    responses={200: {"content": {"text/csv": {}}}},
)
def broadcast_report_contacts(
    broadcast_id: int,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
    bucket: BucketQuery = "all",
    format: Annotated[
        str, Query(max_length=10, description="json, or csv: every row, streamed")
    ] = "json",
) -> list[ReportContact] | StreamingResponse:
    """The recipients of a broadcast in one bucket, ordered by delivery id. With
    format=csv the whole bucket is streamed as a CSV attachment (startindex/maxrows
    ignored)."""
    org_id = principal.organization_id
    if service.check_format(format) == "csv":
        name = service.check_export(conn, org_id, broadcast_id, bucket)
        stream = service.export_csv(get_db(request).read, broadcast_id, name)
        filename = service.export_filename(broadcast_id, name)
        return StreamingResponse(
            stream,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    result = service.report_contacts(conn, org_id, broadcast_id, bucket, page.offset, page.maxrows)
    # One list format everywhere (as Yespo's): a JSON array, the total in TotalCount.
    set_total(response, result.total)
    return result.items


@router.get("/messages/single-report", response_model=list[SingleReportItem])
def single_report(
    response: Response,
    principal: CurrentPrincipal,
    conn: ReadConn,
    page: Annotated[Page, Depends(page_params)],
    dateFrom: Annotated[
        str | None, Query(max_length=25, description="UTC, YYYY-MM-DD or YYYY-MM-DDTHH:mm")
    ] = None,
    dateTo: Annotated[
        str | None,
        Query(max_length=25, description="UTC, inclusive; a date alone means the whole day"),
    ] = None,
) -> list[SingleReportItem]:
    """Transactional (smartsend) and test sends: receiver, message, date, result; newest
    first. Default range: the last 7 days."""
    items, total = service.single_report(
        conn, principal.organization_id, dateFrom, dateTo, page.offset, page.maxrows
    )
    set_total(response, total)
    return items


@router.get("/messages/{message_id}/report", response_model=MessageReportOut)
def message_report(
    message_id: int, principal: CurrentPrincipal, conn: ReadConn
) -> MessageReportOut:
    """Totals of a message across its broadcasts and transactional sends (test sends
    excluded)."""
    return service.message_report(conn, principal.organization_id, message_id)

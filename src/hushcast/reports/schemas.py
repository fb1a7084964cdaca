"""Response models of the report endpoints (field names as the Yespo-style API shows them)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UnavailableOut(BaseModel):
    total: int = Field(description="UNAVAILABLE rows: skipped, never sent")
    byErrorType: dict[str, int] = Field(description='Always has "Other errors"')
    byErrorName: dict[str, int] = Field(
        description="Always has CHANNEL_WAS_MUTED, TOKEN_INACTIVE, QUIET_HOURS and FREQUENCY_CAP"
    )


class CountersOut(BaseModel):
    totalContacts: int = Field(description="Every delivery row (one per recipient)")
    inQueue: int = Field(description="IN_QUEUE and SENDING rows")
    sent: int = Field(
        description="Requests Telegram answered: delivered + ERROR/BOT_SEND_ERROR rows"
    )
    delivered: int = Field(description="DELIVERED and CLICKED rows (a click is on top)")
    clicked: int = Field(description="CLICKED rows")
    errors: int = Field(description="ERROR rows, of any error name")
    unavailable: UnavailableOut
    errorsByName: dict[str, int] = Field(
        description="ERROR rows by name; always has BOT_SEND_ERROR, SEND_FAILED, TEMPLATE_ERROR"
    )
    cancelled: int = Field(description="CANCELLED rows")
    held: int = Field(default=0, description="HELD rows: waiting for their chat's mute to end")
    waiting: int = Field(
        default=0, description="WAITING rows: for their local time or the end of quiet hours"
    )


class BroadcastReportOut(CountersOut):
    broadcastId: int
    status: str = Field(description="The broadcast's status (SCHEDULED, RUNNING, ...)")
    startedAt: str | None
    finishedAt: str | None


class MessageReportOut(CountersOut):
    messageId: int


class ReportContact(BaseModel):
    contactId: int | None
    externalCustomerId: str | None
    token: str
    status: str
    errorType: str | None
    errorName: str | None
    description: str | None
    at: str | None = Field(
        description="finished_at; clicked_at for CLICKED; created_at while queued"
    )


class ReportContactsPage(BaseModel):
    items: list[ReportContact]
    total: int


class SingleReportItem(BaseModel):
    requestId: str | None
    externalRequestId: str | None
    receiver: str = Field(description="The Telegram chat id (token)")
    contactId: int | None
    messageId: int
    messageName: str | None
    kind: str = Field(description="smartsend or test")
    date: str | None = Field(description="When the send was requested (UTC)")
    status: str = Field(
        description="As GET /v1/message/status: IN_QUEUE, DELIVERED, CLICKED, BOT_SEND_ERROR, "
        "ERROR (and UNAVAILABLE, CANCELLED)"
    )
    error: str | None

from __future__ import annotations

from pydantic import BaseModel, Field


class RecipientDoc(BaseModel):
    """One recipient (documentation schema; the body is checked by hand)."""

    locator: str | int | None = Field(
        default=None, description="Telegram chat id registered for the bot"
    )
    contactId: int | None = Field(
        default=None, description="Send to each of the contact's active tokens"
    )
    externalCustomerId: str | None = None
    jsonParam: str | None = Field(
        default=None, description="A JSON object encoded as a string, for personalisation"
    )
    externalRequestId: str | None = Field(default=None, max_length=200)
    languageCode: str | None = None


class SmartsendBodyDoc(BaseModel):
    recipients: list[RecipientDoc] = Field(min_length=1, max_length=1000)
    email: bool = Field(default=False, description="Always false for Telegram")
    appId: str | None = Field(
        default=None, description="Bot app uuid; may be omitted when the organisation has one bot"
    )
    quietHoursPolicy: str | None = Field(
        default=None,
        description="ignore (default), defer or skip the recipients' quiet hours (docs/policies.md)",
    )


class TestSendBodyDoc(BaseModel):
    appId: str | None = None
    tokens: list[str | int] | None = Field(default=None, description="Registered chat ids")
    contactIds: list[int] | None = Field(
        default=None, description="Contacts; each active token gets the message"
    )


class SendResult(BaseModel):
    locator: str | None
    status: str = Field(description="OK (queued) or ERROR (not queued, see message)")
    requestId: str | None = Field(description="Poll GET /v1/message/status with it")
    message: str | None = None
    contactId: int | None = None
    externalCustomerId: str | None = None


class SendResponse(BaseModel):
    id: int
    results: list[SendResult]


class StatusItem(BaseModel):
    requestId: str
    status: str
    delivered: bool
    failed: bool
    error: str | None = None


class StatusResponse(BaseModel):
    results: list[StatusItem]

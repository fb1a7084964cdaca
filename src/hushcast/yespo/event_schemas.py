from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EventParamDoc(BaseModel):
    name: str
    value: Any = None


class EventDoc(BaseModel):
    """Yespo's Event (v1 and v2): the contact is found by params named ContactId,
    ExternalCustomerId, EmailAddress (or Email), Phone (or PhoneNumber, sms), or
    TelegramBotToken (a chat id of one of the organisation's bots)."""

    eventTypeKey: str = Field(max_length=200)
    keyValue: str | int | None = Field(default=None, description="Event key (e.g. order id)")
    params: list[EventParamDoc] | None = Field(default=None, max_length=1000)


class ActivityItem(BaseModel):
    """One message activity, as GET /v2/contacts/activity answers it."""

    iid: str
    externalRequestId: str | None
    contactId: int | None
    externalCustomerId: str | None
    mediaType: str = "telegrambot"
    activityStatus: str
    statusDescription: str | None
    messageId: int
    messageInstanceId: int
    activityDateTime: str | None
    clickEventLink: str | None = None
    broadcastId: int | None
    workflowId: int | None = None
    offset: str


class ContactMessageItem(BaseModel):
    """One message of a contact's history (GET /v2/contacts/messages)."""

    iid: str
    channelType: str = "telegrambot"
    messageId: int
    messageInstanceId: int
    broadcastId: int | None
    externalRequestId: str | None
    activityStatus: str
    statusDescription: str | None
    activityDateTime: str | None


class EventOut(BaseModel):
    id: int
    eventTypeKey: str
    keyValue: str | None
    params: list[dict[str, Any]]
    occurredAt: str


class ContactActivityOut(BaseModel):
    """A contact's events and messages (Hushcast extension; newest first)."""

    events: list[EventOut]
    messages: list[ContactMessageItem]

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

# Yespo's BroadcastView gives its ids as JSON strings: a client generated from yespo.json
# (Go, Java, C#) fails on a number there. Inside Hushcast (the dashboard) they stay ints.
YespoId = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]


class BroadcastCreateDoc(BaseModel):
    """Documentation schema; the body is checked by hand so errors come in a set order."""

    messageId: int = Field(description="Id of the message to send")
    appId: str | None = Field(
        default=None, description="Bot app uuid; may be omitted when the organisation has one bot"
    )
    groups: list[int] | None = Field(
        default=None, description="Send to contacts in any of these groups; absent = every token"
    )
    excludedGroups: list[int] | None = Field(
        default=None, description="Skip contacts in any of these groups"
    )
    title: str | None = Field(default=None, max_length=300, description="Default: message name")
    startDate: str | None = Field(
        default=None, description="UTC, YYYY-MM-DDTHH:mm (seconds and a trailing Z accepted)"
    )
    batchSize: int | None = Field(
        default=None, description="Send at most this many recipients per batchIntervalUnit"
    )
    batchIntervalUnit: str | None = Field(default=None, description="MINUTE, HOUR, DAY or MONTH")
    mutePolicy: str | None = Field(
        default=None, description="skip (default: a muted chat is skipped) or hold"
    )
    holdUntil: str | None = Field(
        default=None, description="hold: UTC deadline; default start + 24 h, at most 7 days"
    )
    quietHoursPolicy: str | None = Field(
        default=None, description="defer (default), skip or ignore the recipients' quiet hours"
    )
    localTime: str | None = Field(
        default=None, description="HH:mm: send at this hour in each recipient's time zone"
    )
    localDate: str | None = Field(default=None, description="YYYY-MM-DD for localTime")


class BroadcastOut(BaseModel):
    """Yespo's BroadcastView (broadcastId, title, messageId, groupId, startDate, batchSize,
    batchIntervalUnit; the ids as strings, as Yespo's types) plus appId and status."""

    broadcastId: YespoId
    title: str | None
    messageId: YespoId
    groupId: YespoId | None = Field(default=None, description="The first of groups, as Yespo shows")
    appId: str
    startDate: str | None
    batchSize: int | None = None
    batchIntervalUnit: str | None = None
    status: str
    mutePolicy: str = "skip"
    holdUntil: str | None = None
    quietHoursPolicy: str = "defer"
    localTime: str | None = None
    localDate: str | None = None


class BroadcastView(BroadcastOut):
    createdAt: str | None
    startedAt: str | None
    finishedAt: str | None
    totalContacts: int
    inQueue: int = Field(description="IN_QUEUE and SENDING rows")
    delivered: int = Field(description="DELIVERED and CLICKED rows")
    clicked: int
    unavailable: int
    errors: int
    cancelled: int
    held: int = Field(default=0, description="HELD: waiting for their chat's mute to end")
    waiting: int = Field(
        default=0, description="WAITING: for their local time or the end of quiet hours"
    )

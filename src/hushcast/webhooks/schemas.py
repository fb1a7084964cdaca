from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["delivery", "click", "mute", "subscriber"]
Format = Literal["hushcast", "yespo"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http(s) URL of a public host")
    events: list[EventType] = Field(min_length=1, max_length=4)
    format: Format = "hushcast"
    description: str | None = Field(default=None, max_length=500)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=4)
    format: Format | None = None
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    format: str
    description: str | None
    active: bool
    createdAt: str
    updatedAt: str
    pendingEvents: int
    failedEvents: int
    consecutiveFailures: int
    nextAttemptAt: str | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: signs every POST (Hushcast-Signature)")


class SecretOut(BaseModel):
    id: int
    secret: str
    previousSecretValidUntil: str | None


class AttemptOut(BaseModel):
    id: int
    at: str
    events: int
    ok: bool
    statusCode: int | None
    latencyMs: int
    error: str | None
    nextRetryAt: str | None
    test: bool


class FailedEventOut(BaseModel):
    eventId: str
    type: str
    occurredAt: str
    attempts: int
    firstAttemptAt: str | None


class TestResultOut(BaseModel):
    ok: bool
    statusCode: int | None
    latencyMs: int
    error: str | None

"""Request and response shapes of the updates API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DialogGuardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    muteSeconds: int = Field(default=1800, ge=5, le=31_536_000)


class UpdatesIn(BaseModel):
    """Turning updates on takes the bot's updates over: Telegram allows one webhook or one
    poller per bot, so the customer's own bot gets them only through ``relayUrl``."""

    model_config = ConfigDict(extra="forbid")

    mode: str = Field(pattern="^(webhook|polling|off)$")
    relayUrl: str | None = None
    relaySecret: str | None = Field(default=None, min_length=1, max_length=256)
    dialogGuard: DialogGuardIn | None = None
    registerGroups: bool | None = None
    # A message (POST /v1/messages/telegram) sent to each new subscriber; null: none.
    welcomeMessageId: int | None = None


class DialogGuardOut(BaseModel):
    enabled: bool
    muteSeconds: int


class RelayStatsOut(BaseModel):
    delivered: int
    pending: int
    failures: int
    lastError: str | None
    lastErrorAt: str | None


class UpdatesOut(BaseModel):
    """The bot's update settings; never its secrets."""

    mode: str
    relayUrl: str | None
    relaySecretSet: bool
    dialogGuard: DialogGuardOut
    registerGroups: bool
    welcomeMessageId: int | None
    webhookUrl: str | None
    relay: RelayStatsOut


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contactId: int | None = None
    externalCustomerId: str | None = None
    email: str | None = None
    phone: str | None = None
    # Single use: only the first chat that starts the bot with it joins the contact.
    singleUse: bool = False


class LinkOut(BaseModel):
    url: str
    payload: str
    expiresAt: str

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AppCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    botToken: str = Field(description="The bot's token from @BotFather")
    name: str | None = Field(default=None, max_length=200)


class AppUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    paidBroadcast: bool | None = Field(
        default=None, description="Send broadcasts with allow_paid_broadcast (up to 1,000/s)"
    )
    messagesPerSecond: float | None = Field(default=None, gt=0, le=1000)
    privateChatPerSecond: float | None = Field(default=None, gt=0, le=100)
    groupPerMinute: float | None = Field(default=None, gt=0, le=6000)
    paidMessagesPerSecond: float | None = Field(default=None, gt=0, le=1000)


class AppOut(BaseModel):
    appUuid: str
    botId: int
    botUsername: str
    name: str | None
    paidBroadcast: bool
    messagesPerSecond: float
    privateChatPerSecond: float
    groupPerMinute: float
    paidMessagesPerSecond: float
    subscribers: int | None = None
    mutedNow: int | None = None
    createdAt: str | None = None

from __future__ import annotations

from pydantic import BaseModel, Field


class MuteBodyDoc(BaseModel):
    """Documentation schema; the body is checked by hand so errors come in Yespo's order."""

    token: str | int | None = Field(default=None, description="Chat id to mute")
    tokens: list[str | int] | None = Field(
        default=None, max_length=1000, description="Up to 1,000 chat ids, applied atomically"
    )
    duration: int | None = Field(
        default=None,
        ge=5,
        le=31536000,
        description="Seconds, 5..31536000; absent or null mutes until 9999-12-31T23:59:59Z",
    )


class UnmuteBodyDoc(BaseModel):
    token: str | int | None = None
    tokens: list[str | int] | None = Field(default=None, max_length=1000)


class MuteOut(BaseModel):
    token: str
    mutedUntil: str | None


class BulkMuteOut(BaseModel):
    tokens: list[MuteOut]


class MuteStateOut(BaseModel):
    token: str
    muted: bool
    mutedUntil: str | None


class MuteChangeOut(BaseModel):
    at: str = Field(description="When the change happened")
    kind: str = Field(description="mute, unmute or expire (a timed mute that ended)")
    by: str | None = Field(
        description="apiKey:<id> (the API or the dashboard with that key), or expiry"
    )
    # "from" is a Python keyword: the fields carry aliases.
    from_: str | None = Field(alias="from", description="mutedUntil before the change")
    to: str | None = Field(description="mutedUntil after the change (null: not muted)")

    model_config = {"populate_by_name": True}

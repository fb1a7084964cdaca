from __future__ import annotations

from pydantic import BaseModel, Field


class TokenItemDoc(BaseModel):
    """One token to register (documentation schema; the body is checked by hand)."""

    token: str | int = Field(description="Telegram chat id of the user with this bot")
    contactId: int | None = None
    externalCustomerId: str | None = None
    phone: str | None = None
    email: str | None = None


class TokensBodyDoc(BaseModel):
    tokens: list[TokenItemDoc] = Field(max_length=10000)


class TokensResult(BaseModel):
    contactsCreated: int
    tokensAdded: int
    tokensMoved: int
    tokensReactivated: int
    tokensUnchanged: int


class TokenOut(BaseModel):
    token: str
    contactId: int
    externalCustomerId: str | None
    phone: str | None
    email: str | None
    active: bool
    mutedUntil: str | None

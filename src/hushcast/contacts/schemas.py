from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field


class TokenItemDoc(BaseModel):
    """One token to register (documentation schema; the body is checked by hand)."""

    token: str | int = Field(description="Telegram chat id of the user with this bot")
    contactId: int | None = None
    externalCustomerId: Annotated[str, Field(max_length=200)] | int | None = None
    phone: Annotated[str, Field(max_length=50)] | int | None = None
    email: str | None = Field(default=None, max_length=320)


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


# --- Contacts (POST /contact, POST /contacts, GET /contact/{id}) ---

FieldValue = str | int | float | bool | None


class ContactFieldDoc(BaseModel):
    name: str = Field(max_length=100, description="Custom field name")
    value: FieldValue = Field(description="New value; null removes the field")


class ContactItemDoc(BaseModel):
    """One contact to add or update (documentation schema; the body is checked by hand)."""

    contactId: int | None = Field(default=None, description="Update this contact if it exists")
    externalCustomerId: Annotated[str, Field(max_length=200)] | int | None = None
    phone: Annotated[str, Field(max_length=50)] | int | None = None
    email: str | None = Field(default=None, max_length=320)
    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    timeZone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Kyiv")
    fields: list[ContactFieldDoc] | None = Field(default=None, max_length=100)


class ContactsBodyDoc(BaseModel):
    contacts: list[ContactItemDoc] = Field(max_length=10000)


class ContactUpsertResult(BaseModel):
    id: int
    created: bool


class ContactsUpsertResult(BaseModel):
    created: int = Field(description="Items that created a contact")
    updated: int = Field(description="Items that matched an existing contact")
    ids: list[int] = Field(description="Contact id of each item, in input order")


class ContactFieldOut(BaseModel):
    name: str
    value: FieldValue


class ContactTokenOut(BaseModel):
    appUuid: str
    token: str
    active: bool
    mutedUntil: str | None


class ContactGroupOut(BaseModel):
    id: int
    name: str


class ContactOut(BaseModel):
    id: int
    firstName: str | None
    lastName: str | None
    email: str | None
    phone: str | None
    externalCustomerId: str | None
    timeZone: str | None
    fields: list[ContactFieldOut]
    createdAt: str
    updatedAt: str
    tokens: list[ContactTokenOut]
    groups: list[ContactGroupOut]


class ContactListItem(BaseModel):
    id: int
    firstName: str | None
    lastName: str | None
    externalCustomerId: str | None
    phone: str | None
    email: str | None
    tokens: int
    createdAt: str


class DeletedId(BaseModel):
    """The id of what was deleted: Yespo answers its DELETEs 200 with a body."""

    id: int

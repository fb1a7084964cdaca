"""Yespo's contact shapes: what clients send (documentation schemas; bodies are checked
by hand) and what they read back (Contact with channels, address, fields by id)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hushcast.contacts.schemas import ContactItemDoc, ContactTokenOut, FieldValue


class ChannelDoc(BaseModel):
    type: str = Field(description="email or sms; other Yespo channel types are ignored")
    value: str


class AddressDoc(BaseModel):
    region: str | None = None
    town: str | None = None
    address: str | None = None
    postcode: str | None = None


class YespoFieldDoc(BaseModel):
    id: int | None = Field(default=None, description="Custom field id (GET /v1/addressbooks)")
    name: str | None = Field(default=None, description="Hushcast extension: field by name")
    value: FieldValue = None


class GroupNameDoc(BaseModel):
    name: str


class YespoContactDoc(ContactItemDoc):
    """Yespo's Contact; the flat Hushcast keys (email, phone, contactId) also work."""

    id: int | None = Field(default=None, description="Contact id (same as contactId)")
    channels: list[ChannelDoc] | None = None
    address: AddressDoc | None = None
    contactKey: str | None = None
    languageCode: str | None = None
    groups: list[GroupNameDoc] | None = None
    fields: list[YespoFieldDoc] | None = None  # type: ignore[assignment]


class ContactsBulkUpdateDoc(BaseModel):
    """Yespo's ContactsBulkUpdate."""

    contacts: list[YespoContactDoc] = Field(max_length=10000)
    dedupeOn: (
        Literal["email", "sms", "email_or_sms", "externalCustomerId", "id", "contact_key"] | None
    ) = Field(default=None, description="Match existing contacts by this identifier only")
    contactFields: list[str] | None = Field(
        default=None, description="Attributes to update on existing contacts (all if absent)"
    )
    customFieldsIDs: list[int] | None = Field(
        default=None, description="Custom fields to write (all given if absent)"
    )
    groupNames: list[str] | None = Field(default=None, description="Add every contact to these")
    groupNamesExclude: list[str] | None = Field(default=None, description="Remove from these")
    restoreDeleted: bool | None = Field(
        default=None, description="Accepted; deleted contacts are erased here, so no effect"
    )


class SubscribeDoc(BaseModel):
    contact: YespoContactDoc
    groups: list[str] | None = None
    formType: str | None = None


class BulkUpsertResult(BaseModel):
    asyncSessionId: str = Field(description="GET /v1/importstatus/{asyncSessionId}")
    created: int
    updated: int
    ids: list[int]


class ImportStatus(BaseModel):
    asyncSessionId: str
    status: Literal["FINISHED"]
    error: str | None = None
    created: int
    updated: int
    ids: list[int]


class ChannelOut(BaseModel):
    type: str
    value: str


class AddressOut(BaseModel):
    region: str | None = None
    town: str | None = None
    address: str | None = None
    postcode: str | None = None


class YespoFieldOut(BaseModel):
    id: int | None
    name: str
    value: FieldValue


class YespoGroupOut(BaseModel):
    id: int
    name: str
    type: str = "Static"


class YespoContactOut(BaseModel):
    """Yespo's Contact, plus Hushcast's flat keys (email, phone) and groups."""

    id: int
    contactId: int
    firstName: str | None
    lastName: str | None
    channels: list[ChannelOut]
    address: AddressOut | None
    fields: list[YespoFieldOut]
    externalCustomerId: str | None
    contactKey: str | None
    languageCode: str | None
    timeZone: str | None
    email: str | None
    phone: str | None
    groups: list[YespoGroupOut]


class YespoContactDetail(YespoContactOut):
    """GET /v1/contact/{id}: also the Telegram tokens and timestamps."""

    tokens: list[ContactTokenOut]
    createdAt: str
    updatedAt: str


class ContactIdOut(BaseModel):
    id: int


class FieldTypeOut(BaseModel):
    name: str = "text"


class AddressBookFieldOut(BaseModel):
    id: int
    name: str
    type: FieldTypeOut


class FieldGroupOut(BaseModel):
    name: str
    fields: list[AddressBookFieldOut]


class AddressBookOut(BaseModel):
    addressBookId: int
    name: str
    fieldGroups: list[FieldGroupOut]


class AddressBooksOut(BaseModel):
    addressBook: AddressBookOut

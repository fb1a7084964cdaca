from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

MAX_MEMBERS_PER_REQUEST = 10_000


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=300)

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class GroupOut(BaseModel):
    id: int
    name: str
    type: str = Field(default="Static", description="Yespo's group type: always Static here")
    contacts: int = Field(description="Number of contacts in the group")


class GroupMembers(BaseModel):
    """Contacts to add to or remove from a group, by contact id or externalCustomerId."""

    model_config = ConfigDict(extra="ignore")

    contactIds: list[Annotated[StrictInt, Field(gt=0)]] | None = Field(
        default=None, max_length=MAX_MEMBERS_PER_REQUEST
    )
    externalCustomerIds: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=MAX_MEMBERS_PER_REQUEST
    )

    @field_validator("externalCustomerIds")
    @classmethod
    def _clean_external_ids(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        cleaned = []
        for value in values:
            if "\x00" in value:
                raise ValueError("must not contain NUL characters")
            value = value.strip()
            if not value:
                raise ValueError("must not contain blank values")
            cleaned.append(value)
        return cleaned


class GroupAdded(BaseModel):
    added: int


class GroupRemoved(BaseModel):
    removed: int


class GroupContactOut(BaseModel):
    id: int
    externalCustomerId: str | None
    email: str | None
    phone: str | None

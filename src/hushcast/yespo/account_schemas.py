from __future__ import annotations

from pydantic import BaseModel, StrictBool


class AccountInfo(BaseModel):
    userEmail: str
    organisationName: str


class VersionOut(BaseModel):
    version: str
    hushcast: str


class TokenContactId(BaseModel):
    id: int


class TokenActivation(BaseModel):
    active: StrictBool

from __future__ import annotations

from pydantic import BaseModel, Field


class QuietHoursIn(BaseModel):
    start: str = Field(description="HH:mm local time; start > end spans midnight")
    end: str = Field(description="HH:mm local time; start == end: no quiet hours")


class FrequencyCapIn(BaseModel):
    count: int = Field(description="at most this many broadcast messages per chat (0: no cap)")
    periodSeconds: int = Field(description="per rolling period of this many seconds")


class PoliciesDoc(BaseModel):
    """Documentation schema; the body is checked by hand (400 with the field named)."""

    quietHours: QuietHoursIn | None = Field(default=None, description="absent/null: inherit")
    frequencyCap: FrequencyCapIn | None = Field(default=None, description="absent/null: inherit")
    timeZone: str | None = Field(
        default=None, description="organisation only: the zone of contacts without one"
    )


class QuietHoursOut(BaseModel):
    start: str
    end: str


class FrequencyCapOut(BaseModel):
    count: int
    periodSeconds: int


class PoliciesOut(BaseModel):
    quietHours: QuietHoursOut | None = None
    frequencyCap: FrequencyCapOut | None = None
    timeZone: str | None = None


class BotPoliciesOut(BaseModel):
    appUuid: str
    quietHours: QuietHoursOut | None = Field(default=None, description="the bot's override")
    frequencyCap: FrequencyCapOut | None = Field(default=None, description="the bot's override")
    effective: PoliciesOut = Field(description="what applies: the override, else the default")


class ContactQuietHoursDoc(BaseModel):
    quietHours: QuietHoursIn


class ContactQuietHoursOut(BaseModel):
    contactId: int
    quietHours: QuietHoursOut | None
    timeZone: str | None = Field(description="the contact's own zone (null: the default)")

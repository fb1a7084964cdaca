from __future__ import annotations

from pydantic import BaseModel, Field

from hushcast.messages.schemas import ButtonIn, ButtonOut


class TranslationIn(BaseModel):
    """A language version of a Telegram message (the name stays the message's)."""

    text: str = Field(description="As the message's text (Velocity and merge tags)")
    imageSource: str | None = None
    buttons: list[ButtonIn] | None = None


class TranslationOut(BaseModel):
    languageCode: str
    text: str
    imageSource: str | None
    buttons: list[ButtonOut]


class MessageLanguages(BaseModel):
    """Yespo's ``languages`` and ``translations`` of a message."""

    id: int
    languages: list[str]
    translations: list[TranslationOut]

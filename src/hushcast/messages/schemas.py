"""Telegram base messages (Yespo ``BaseTelegramBotMessage``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from hushcast.messages.render import MAX_TEXT, MAX_TEXT_WITH_IMAGE

MAX_NAME = 300
MAX_BUTTONS = 100
MAX_BUTTON_TEXT = 64
MAX_TAGS = 50
MAX_TAG = 100
LINK_RE_HINT = "must be an http(s) or tg:// URL"


def _error(message: str) -> PydanticCustomError:
    # A custom error keeps the message as is (no "Value error, " prefix).
    return PydanticCustomError("value_error", message)


def looks_like_link(link: str) -> bool:
    """Checked before rendering: merge tags and Velocity may follow the host."""
    lower = link.lower()
    for prefix in ("http://", "https://"):
        if lower.startswith(prefix):
            host = link[len(prefix) :].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            return bool(host.strip()) and not any(c.isspace() for c in host)
    if lower.startswith("tg://"):
        return bool(link[5:].strip("/ "))
    return False


def looks_like_http_url(url: str) -> bool:
    return looks_like_link(url) and not url.lower().startswith("tg://")


def _tag(value: str) -> str:
    value = value.strip()
    if not value:
        raise _error("must not be empty")
    if len(value) > MAX_TAG:
        raise _error(f"must be at most {MAX_TAG} characters")
    return value


Tag = Annotated[str, AfterValidator(_tag)]


class ButtonIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(description=f"Button label, at most {MAX_BUTTON_TEXT} characters")
    link: str = Field(description="http(s) URL or tg:// deep link; may be personalised")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise _error("must not be empty")
        if len(value) > MAX_BUTTON_TEXT:
            raise _error(f"must be at most {MAX_BUTTON_TEXT} characters")
        return value

    @field_validator("link")
    @classmethod
    def _link(cls, value: str) -> str:
        value = value.strip()
        if not looks_like_link(value):
            raise _error(LINK_RE_HINT)
        return value


class MessageIn(BaseModel):
    """Create or fully replace a Telegram message."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description=f"1 to {MAX_NAME} characters")
    text: str = Field(
        description=(
            f"1 to {MAX_TEXT} characters ({MAX_TEXT_WITH_IMAGE} with an image); "
            "Velocity ($!data.get('key')) and merge tags (%FIRSTNAME|fallback%)"
        )
    )
    imageSource: str | None = Field(default=None, description="http(s) URL of the image")
    buttons: list[ButtonIn] | None = Field(default=None)
    tags: list[Tag] | None = Field(default=None, description=f"At most {MAX_TAGS} tags")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise _error("must not be empty")
        if len(value) > MAX_NAME:
            raise _error(f"must be at most {MAX_NAME} characters")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise _error("must not be empty")
        if len(value) > MAX_TEXT:
            raise _error(f"must be at most {MAX_TEXT} characters")
        return value

    @field_validator("imageSource")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not looks_like_http_url(value):
            raise _error("must be an http(s) URL")
        return value

    @field_validator("buttons", mode="before")
    @classmethod
    def _buttons_count(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_BUTTONS:
            raise _error(f"at most {MAX_BUTTONS} buttons are allowed")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_count(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_TAGS:
            raise _error(f"at most {MAX_TAGS} tags are allowed")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _text_with_image(self) -> MessageIn:
        if self.imageSource and len(self.text) > MAX_TEXT_WITH_IMAGE:
            raise _error(
                f"text must be at most {MAX_TEXT_WITH_IMAGE} characters when imageSource is set"
            )
        return self


class ButtonOut(BaseModel):
    text: str
    link: str


class TranslationView(BaseModel):
    """A language version as Yespo's GET returns it (TelegramBotMessage)."""

    name: str
    languageCode: str
    text: str
    imageSource: str | None
    buttons: list[ButtonOut]


class MessageOut(BaseModel):
    id: int
    name: str
    text: str
    imageSource: str | None
    buttons: list[ButtonOut]
    tags: list[str]
    createdAt: str | None
    updatedAt: str | None
    # Yespo's BaseTelegramBotMessage on GET: the language versions (PUT .../{language}).
    languages: list[str] = []
    translations: list[TranslationView] = []


class MessageId(BaseModel):
    id: int

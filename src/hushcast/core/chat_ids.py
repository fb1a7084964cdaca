"""Telegram chat ids ("tokens" in the Yespo API) in one canonical form.

``"0123"``, ``"+123"``, ``" 123 "`` and the JSON integer ``123`` are one Telegram chat,
so they are stored, muted, matched and sent to as ``"123"``. The canonical form is
Telegram's own: a decimal integer without sign or leading zeros for private chats,
``-`` for groups and ``-100…`` for supergroups and channels; a public channel may also be
named ``@channelusername``, which stays as written. Anything else cannot be a chat id
and is refused (400) wherever a chat id enters: token registration, mute and unmute,
smartsend locators, test sends, the dashboard forms.
"""

from __future__ import annotations

import re
from typing import Any

from hushcast.core.errors import BadRequest
from hushcast.core.ids import ascii_int

# Telegram chat ids have at most 52 significant bits; -100… supergroup ids stay well
# below 10**16.
MAX_ABS_CHAT_ID = 10**16
# Public usernames: 5-32 characters, letters, digits and underscores, starting with a letter
# (a few historic ones have 4).
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")

CHAT_ID_FORM = (
    "a Telegram chat id: a decimal integer (negative for groups, -100… for supergroups) "
    "or @channelusername"
)
CHAT_ID_RULE = f"must be {CHAT_ID_FORM}"


def normalize_chat_id(value: Any) -> str | None:
    """The canonical chat id for a JSON string or integer, or None if it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if _USERNAME.fullmatch(text):
            return text
        # ASCII digits only (core.ids): "²" or Arabic-Indic digits are no chat id.
        parsed = ascii_int(text, signed=True)
        if parsed is None:
            return None
        number = parsed
    else:
        return None
    if number == 0 or abs(number) >= MAX_ABS_CHAT_ID:
        return None
    return str(number)


def is_empty(value: Any) -> bool:
    """No chat id given at all (absent, null or blank), as opposed to a wrong one."""
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def parse_chat_id(value: Any, where: str) -> str:
    """The canonical chat id, or 400 naming ``where`` and the rule."""
    chat_id = normalize_chat_id(value)
    if chat_id is None:
        if is_empty(value):
            raise BadRequest(f"{where} is required: {CHAT_ID_FORM}")
        raise BadRequest(f"{where} {CHAT_ID_RULE}; got '{_shown(value)}'")
    return chat_id

"""Which language version of a message a recipient gets (a pure decision).

Yespo's messages have ``translations`` by language code; smartsend's ``languageCode``,
or the contact's, picks one. Codes are stored lower-case with ``-`` (``pt-br``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?")


def is_language_code(value: str) -> bool:
    """ISO 639 with an optional region or script: en, uk, pt-BR, zh_Hant."""
    return _CODE.fullmatch(value.strip()) is not None


def normalize(language: str) -> str:
    return language.strip().replace("_", "-").lower()


def choose_language(available: Collection[str], language: str | None) -> str | None:
    """The translation to send for ``language``: its exact code, else its primary
    language (``pt-BR`` gets ``pt`` when only that exists), else None (the message
    itself). Never a different language: ``uk`` does not get ``uk-ua``."""
    if not language or not available:
        return None
    wanted = normalize(language)
    if wanted in available:
        return wanted
    primary = wanted.split("-")[0]
    return primary if primary in available else None

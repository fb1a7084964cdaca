"""Reading raw JSON bodies where the API must check things in a set order."""

from __future__ import annotations

import json
from typing import Any

from hushcast.core.errors import BadRequest

NOT_JSON = "Request body must be a JSON object"


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw or not raw.strip():
        raise BadRequest(NOT_JSON)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(NOT_JSON)
    return value


def as_token(value: Any, max_len: int = 64) -> str | None:
    """A chat id given as a string or a JSON integer, or None if it is not usable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        token = value.strip()
        if not token or len(token) > max_len or "\x00" in token:
            return None
        return token
    return None

"""Signed click-tracking links: ``/c/<payload>.<signature>``.

The payload carries the delivery id and the original link, and the signature
(HMAC-SHA256 with the instance secret) proves we wrote it: only links of our
own messages can be redirect targets, and a forged or altered id is a 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16])


def make_click_url(public_url: str, secret: str, delivery_id: int, link: str) -> str:
    payload = _b64(json.dumps([delivery_id, link], separators=(",", ":")).encode())
    return f"{public_url.rstrip('/')}/c/{payload}.{_sign(secret, payload)}"


def read_click_token(secret: str, token: str) -> tuple[int, str] | None:
    """(delivery id, original link), or None when the token is not ours."""
    payload, sep, signature = token.rpartition(".")
    if not sep or not payload or len(token) > 8192:
        return None
    # Bytes, not str: compare_digest raises on non-ASCII str (a 500 for /c/<payload>.%C3%A9).
    if not hmac.compare_digest(
        _sign(secret, payload).encode(), signature.encode("utf-8", "replace")
    ):
        return None
    try:
        value: Any = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]

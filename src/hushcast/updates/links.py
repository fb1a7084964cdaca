"""Deep-link payloads (``https://t.me/<bot>?start=<payload>``): signed, short, expiring.

A payload names a contact of one bot and carries its expiry and an HMAC of both, so it
needs no table and cannot be forged or moved to another bot. 32 characters of
``A-Za-z0-9_-``, within Telegram's 64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime

_BODY = struct.Struct(">QI")  # contact id, expiry (unix seconds)
_MAC_BYTES = 12


def _mac(secret: str, app_id: int, body: bytes) -> bytes:
    message = b"hushcast-start-link:" + str(app_id).encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_payload(secret: str, app_id: int, contact_id: int, expires: datetime) -> str:
    stamp = int(expires.replace(tzinfo=UTC).timestamp())
    body = _BODY.pack(contact_id, stamp)
    raw = body + _mac(secret, app_id, body)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_payload(secrets: tuple[str, ...], app_id: int, payload: str, now: datetime) -> int | None:
    """The contact id a valid, unexpired payload of this bot names; None otherwise."""
    if len(payload) != 32:
        return None
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != _BODY.size + _MAC_BYTES:
        return None
    body, mac = raw[: _BODY.size], raw[_BODY.size :]
    if not any(hmac.compare_digest(mac, _mac(s, app_id, body)) for s in secrets):
        return None
    contact_id, stamp = _BODY.unpack(body)
    if stamp <= int(now.replace(tzinfo=UTC).timestamp()):
        return None
    return int(contact_id)

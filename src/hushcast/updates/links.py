"""Deep-link payloads (``https://t.me/<bot>?start=<payload>``): signed, short, expiring.

A payload names a contact of one bot and carries its expiry and an HMAC of both, so it
cannot be forged or moved to another bot. 34 characters of ``A-Za-z0-9_-``, within
Telegram's 64. A single-use payload is recorded when used (``used_start_links``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime

_BODY = struct.Struct(">QIB")  # contact id, expiry (unix seconds), flags
SINGLE_USE = 1
PAYLOAD_LENGTH = 34
_MAC_BYTES = 12


def _mac(secret: str, app_id: int, body: bytes) -> bytes:
    message = b"hushcast-start-link:" + str(app_id).encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_payload(
    secret: str, app_id: int, contact_id: int, expires: datetime, single_use: bool = False
) -> str:
    stamp = int(expires.replace(tzinfo=UTC).timestamp())
    body = _BODY.pack(contact_id, stamp, SINGLE_USE if single_use else 0)
    raw = body + _mac(secret, app_id, body)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_payload(
    secrets: tuple[str, ...], app_id: int, payload: str, now: datetime
) -> tuple[int, bool] | None:
    """(contact id, single use) of a valid, unexpired payload of this bot; else None."""
    if len(payload) != PAYLOAD_LENGTH:
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
    contact_id, stamp, flags = _BODY.unpack(body)
    if stamp <= int(now.replace(tzinfo=UTC).timestamp()):
        return None
    return int(contact_id), bool(flags & SINGLE_USE)

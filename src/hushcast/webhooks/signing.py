"""``Hushcast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The scheme Stripe documents. During a rotation there is one ``v1`` per secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Hushcast-Signature"
TOLERANCE_S = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secrets_: list[str], body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    parts = [f"t={t}"]
    for s in secrets_:
        parts.append("v1=" + hmac.new(s.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


def verify(
    secret: str, body: bytes, header: str, now: float | None = None, tolerance: int = TOLERANCE_S
) -> bool:
    """What a receiver does (README shows the same in ten lines)."""
    items = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in items if k == "t"), None)
    if t is None or not t.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in items)

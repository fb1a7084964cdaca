"""Constant-time comparison that never raises on what a client sends.

``hmac.compare_digest`` raises ``TypeError`` on ``str`` arguments holding non-ASCII
characters, so a cookie, form field or path ending in ``é`` answered 500. Comparing the
UTF-8 bytes (lone surrogates kept with ``surrogatepass``) is total and still constant-time.
"""

from __future__ import annotations

import hmac


def to_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def same(a: str, b: str) -> bool:
    """``a == b`` in time independent of where they differ; False for non-str input."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return hmac.compare_digest(to_bytes(a), to_bytes(b))

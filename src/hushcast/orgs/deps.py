"""FastAPI dependencies for authentication: the API key, its rate limit, the principal,
and the /v1-wide check for unstorable text (which runs after authentication)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from typing import Annotated

from fastapi import Depends, Request

from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError
from hushcast.core.jsonbody import check_text
from hushcast.orgs.service import Principal, authenticate


def extract_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer":
        return value or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # Yespo clients send any username and the key as the password.
        _, sep, password = decoded.partition(":")
        return password if sep else None
    return None


class KeyRateLimiter:
    """Per-key token bucket in this process (default 200 requests/s, as Yespo)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key_id: int) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.rate, now))
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                return False
            self._buckets[key_id] = (tokens - 1, now)
            return True


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="hushcast"'})


def require_principal(request: Request) -> Principal:
    key = extract_key(request)
    if key is None:
        raise _unauthorized()
    with get_db(request).read() as conn:
        principal = authenticate(conn, key)
    if principal is None:
        raise _unauthorized()
    limiter: KeyRateLimiter = request.app.state.key_limiter
    if not limiter.allow(principal.api_key_id):
        raise ApiError(429, "Too many requests", {"Retry-After": "1"})
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


async def reject_unstorable_text(request: Request, _: CurrentPrincipal) -> None:
    """400 for a JSON body holding a NUL or a lone surrogate (escaped as \\u0000, \\ud800),
    for every /v1 route, before any handler parses or stores it. Bodies without escapes
    (almost all) are not parsed here."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    raw = await request.body()
    if b"\\u" not in raw and b"\\U" not in raw:
        return
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return  # the endpoint answers "not valid JSON"
    check_text(value)

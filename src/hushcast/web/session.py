"""Dashboard sessions and CSRF tokens: signed, stateless cookies checked on every request.

The session cookie names an API key id, an expiry and the first characters of the key's
digest, signed with HMAC-SHA256 under the instance secret. Every request looks the key up
again, so revoking a key (or replacing it) ends every session opened with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "hc_session"
LOGIN_COOKIE = "hc_login"
TZ_COOKIE = "hc_tz"
COOKIE_PATH = "/ui"
SESSION_TTL_S = 12 * 3600
DIGEST_CHARS = 16
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_VERSION = "v1"


def _mac(secret: str, purpose: str, payload: str) -> str:
    raw = hmac.new(secret.encode("utf-8"), f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SessionClaims:
    """What a valid cookie says; the key still has to be checked against the database."""

    api_key_id: int
    expires_at: int
    digest_prefix: str
    value: str  # the whole cookie value (the CSRF token is derived from it)


def issue(secret: str, api_key_id: int, key_digest: str, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + SESSION_TTL_S)
    nonce = secrets.token_urlsafe(12)
    payload = f"{_VERSION}.{api_key_id}.{expires}.{key_digest[:DIGEST_CHARS]}.{nonce}"
    return f"{payload}.{_mac(secret, 'session', payload)}"


def parse(secret: str, value: str | None, now: float | None = None) -> SessionClaims | None:
    """The claims of a well-signed, unexpired cookie, else None."""
    if not value or len(value) > 300:
        return None
    payload, _, signature = value.rpartition(".")
    if not payload or not hmac.compare_digest(signature, _mac(secret, "session", payload)):
        return None
    parts = payload.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        return None
    _, key_id, expires, prefix, _nonce = parts
    if not key_id.isdigit() or not expires.isdigit():
        return None
    if int(expires) <= (now if now is not None else time.time()):
        return None
    return SessionClaims(int(key_id), int(expires), prefix, value)


def digest_matches(claims: SessionClaims, key_digest: str) -> bool:
    return hmac.compare_digest(claims.digest_prefix, key_digest[:DIGEST_CHARS])


def csrf_token(secret: str, session_value: str) -> str:
    return _mac(secret, "csrf", session_value)


def csrf_ok(secret: str, session_value: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(str(given), csrf_token(secret, session_value))


# The sign-in form has no session yet: its token is bound to a random cookie instead
# (double submit), so another site cannot sign a visitor in with the attacker's key.


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)


def login_csrf_token(secret: str, nonce: str) -> str:
    return _mac(secret, "login-csrf", nonce)


def login_csrf_ok(secret: str, nonce: str | None, given: str | None) -> bool:
    if not nonce or not given or len(nonce) > 100:
        return False
    return hmac.compare_digest(str(given), login_csrf_token(secret, nonce))

"""Dashboard session cookies and CSRF tokens.

A session is a row of ``web_sessions`` (see web/repository.py); the cookie carries its
random id, signed with HMAC-SHA256 under the instance secret so that garbage is refused
without a database read. The table keeps only the id's SHA-256, so reading the database
does not give anyone a session. Signing out revokes the row; so the old cookie (and the
CSRF token derived from it) stop working at once.

Every check accepts the current secret and the previous one (``HUSHCAST_SECRET_KEY_PREVIOUS``)
during a rotation; new values are always signed with the current secret. Comparisons are on
bytes (core/crypto.py): a non-ASCII cookie or token is refused, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from hushcast.core.crypto import same, to_bytes

SESSION_COOKIE = "hc_session"
LOGIN_COOKIE = "hc_login"
TZ_COOKIE = "hc_tz"
COOKIE_PATH = "/ui"
# Absolute lifetime of a session, whatever its activity (the idle limit is a setting).
SESSION_TTL_S = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_VERSION = "v2"
MAX_COOKIE_CHARS = 300
MAX_NONCE_CHARS = 100


def _mac(secret: str, purpose: str, payload: str) -> str:
    raw = hmac.new(to_bytes(secret), to_bytes(f"{purpose}|{payload}"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signed_by_any(secrets_: Sequence[str], purpose: str, payload: str, given: str) -> bool:
    return any(same(given, _mac(s, purpose, payload)) for s in secrets_)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def id_digest(session_id: str) -> str:
    """What the database stores instead of the id."""
    return hashlib.sha256(to_bytes(session_id)).hexdigest()


def issue(secret: str, session_id: str) -> str:
    """The cookie value for a session id."""
    payload = f"{_VERSION}.{session_id}"
    return f"{payload}.{_mac(secret, 'session', payload)}"


def parse(secrets_: Sequence[str], value: str | None) -> str | None:
    """The session id of a well-signed cookie, else None (the row still has to be checked)."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    payload, _, signature = value.rpartition(".")
    if not payload or not _signed_by_any(secrets_, "session", payload, signature):
        return None
    version, _, session_id = payload.partition(".")
    if version != _VERSION or not session_id:
        return None
    return session_id


def csrf_token(secret: str, session_id: str) -> str:
    return _mac(secret, "csrf", session_id)


def csrf_ok(secrets_: Sequence[str], session_id: str, given: str | None) -> bool:
    return bool(given) and _signed_by_any(secrets_, "csrf", session_id, str(given))


# The sign-in form has no session yet: its token is bound to a random cookie instead
# (double submit), so another site cannot sign a visitor in with the attacker's key.


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)


def login_csrf_token(secret: str, nonce: str) -> str:
    return _mac(secret, "login-csrf", nonce)


def login_csrf_ok(secrets_: Sequence[str], nonce: str | None, given: str | None) -> bool:
    if not nonce or not given or len(nonce) > MAX_NONCE_CHARS:
        return False
    return _signed_by_any(secrets_, "login-csrf", nonce, str(given))

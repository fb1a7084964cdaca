"""Signed click-tracking links: ``/c/<payload>.<signature>``.

The payload carries the organisation id, the delivery id and the original link, and
the signature (HMAC-SHA256 with the instance secret) covers all three: only links of
our own messages can be redirect targets, a forged or altered id is a 404, and a click
counts only on a delivery of the organisation the link was made for (checked against
the delivery row at click time), so a link can never record a click on another
organisation's delivery even if a delivery id were ever taken again.

Links made before organisations were bound (``[delivery_id, link]``) still redirect;
they carry no organisation to check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, NamedTuple


class ClickTarget(NamedTuple):
    organization_id: int | None  # None: a link from before organisations were bound
    delivery_id: int
    link: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16])


def make_click_url(
    public_url: str,
    secret: str,
    delivery_id: int,
    link: str,
    organization_id: int | None = None,
) -> str:
    """The tracked link for one delivery. Pass ``organization_id`` (the delivery's
    organisation): the signature then binds the link to it."""
    body: list[Any] = [delivery_id, link]
    if organization_id is not None:
        body = [organization_id, delivery_id, link]
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{public_url.rstrip('/')}/c/{payload}.{_sign(secret, payload)}"


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def read_click_token(secret: str, token: str) -> ClickTarget | None:
    """The signed organisation, delivery and link, or None when the token is not ours."""
    payload, sep, signature = token.rpartition(".")
    if not sep or not payload or len(token) > 8192:
        return None
    # Bytes, not str: compare_digest raises on non-ASCII text (a 500 for "/c/x.é").
    if not hmac.compare_digest(
        _sign(secret, payload).encode(), signature.encode("utf-8", "surrogateescape")
    ):
        return None
    try:
        value: Any = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, list) or not isinstance(value[-1] if value else None, str):
        return None
    if len(value) == 3 and _is_id(value[0]) and _is_id(value[1]):
        return ClickTarget(value[0], value[1], value[2])
    if len(value) == 2 and _is_id(value[0]):
        return ClickTarget(None, value[0], value[1])
    return None

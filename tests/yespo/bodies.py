"""Request bodies as eSputnik/Yespo clients send them.

Reconstructed from Yespo's published schemas (Contact, ContactsBulkUpdate, Channel,
NewBroadcastRequest, ExtendedPreparedMessageParameters) as the public SDKs
(PHP dkulyk/esputnik and updevru/php-esputnik-api, Ruby busfor/esputnik, Node
rubik-esputnik, Python ok-esputnik) serialise them: camelCase keys, channels as
[{type, value}], custom fields as [{id, value}] with string values, groups as [{name}].
The SDKs' own files were not at hand when this suite was written, so no body below
claims to be a byte-for-byte copy of one client's output; each is the schema's shape
with the keys those clients fill.
"""

from __future__ import annotations

from typing import Any


def yespo_contact(
    email: str | None = None,
    sms: str | None = None,
    *,
    first: str = "Ann",
    last: str = "Lee",
    fields: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Yespo's Contact as SDKs build it (address and channels, fields by id)."""
    channels = []
    if email:
        channels.append({"type": "email", "value": email})
    if sms:
        channels.append({"type": "sms", "value": sms})
    body: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "channels": channels,
        "address": {
            "region": "Kyiv region",
            "town": "Kyiv",
            "address": "1 Main St",
            "postcode": "01001",
        },
    }
    if fields is not None:
        body["fields"] = fields
    body.update(extra)
    return body


def bulk(contacts: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Yespo's ContactsBulkUpdate."""
    return {"contacts": contacts, **options}

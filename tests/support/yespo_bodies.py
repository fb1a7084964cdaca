"""Request bodies as eSputnik/Yespo clients send them.

Built from Yespo's published schemas (Contact, ContactsBulkUpdate, Channel,
NewBroadcastRequest, ExtendedPreparedMessageParameters): camelCase keys, channels as
[{type, value}], custom fields as [{id, value}], groups as [{name}]. The one SDK whose
source was at hand, the Python ``ok-esputnik`` 0.3, builds exactly these shapes (it runs
itself in test_ok_esputnik_client.py). The PHP (dkulyk/esputnik, updevru/php-esputnik-api),
Ruby (busfor/esputnik) and Node (rubik-esputnik) SDKs were not read, so no body here
claims to be a byte-for-byte copy of their output.
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

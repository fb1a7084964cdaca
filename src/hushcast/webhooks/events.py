"""The events webhooks carry, in Hushcast's shape and in Yespo's.

Every event has a unique ``id`` (a redelivery carries the same one), a ``type``,
``occurredAt`` and the organisation's own identifiers (app uuid, chat id, contact
identifiers), never internal database ids other than those the API shows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hushcast.core.timeutil import iso

DELIVERY = "delivery"
CLICK = "click"
MUTE = "mute"
SUBSCRIBER = "subscriber"
TYPES = (DELIVERY, CLICK, MUTE, SUBSCRIBER)
FORMATS = ("hushcast", "yespo")

_NS = uuid.UUID("5b0f3f0e-4f7a-4d43-9a8e-2a4b6f1c0d17")


def stable_id(*parts: object) -> str:
    """An event id derived from what the event is about: the same event recorded twice
    (a send repeated after a worker crash, an expiry seen twice) has the same id.
    32 hex digits (a keyed BLAKE2b of the parts: cheaper than uuid5 per recipient)."""
    key = ":".join(str(p) for p in parts).encode()
    return hashlib.blake2b(key, digest_size=16, key=_NS.bytes).hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "occurredAt": iso_ms(self.occurred_at)} | {
            k: v for k, v in self.data.items() if v is not None
        }


def iso_ms(dt: datetime) -> str:
    """ISO 8601 UTC with milliseconds (events within a second keep their order)."""
    return dt.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def contact_fields(row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    return {
        "contactId": None if row.contact_id is None else int(row.contact_id),
        "externalCustomerId": row.external_customer_id,
        "phone": row.phone,
        "email": row.email,
    }


def message_fields(row: Any) -> dict[str, Any]:
    """What a delivery and a click event both say of the delivery they are about."""
    return {
        "deliveryId": int(row.id),
        "kind": row.kind,
        "broadcastId": None if row.broadcast_id is None else int(row.broadcast_id),
        "requestId": row.request_id,
        "externalRequestId": row.external_request_id,
        "messageId": int(row.message_id),
    } | contact_fields(row)


def delivery_event_id(delivery_id: int, status: str) -> str:
    return stable_id(DELIVERY, delivery_id, status)


def delivery_event(row: Any) -> Event:
    """A recipient's final outcome (DELIVERED, UNAVAILABLE, ERROR), from its delivery row
    with the contact's identifiers and the bot's uuid (repository.delivery_rows)."""
    data: dict[str, Any] = {
        "status": row.status,
        "errorType": row.error_type,
        "errorName": row.error_name,
        "description": row.description,
        "appUuid": str(row.app_uuid),
        "chatId": row.token,
        "telegramMessageId": None
        if row.telegram_message_id is None
        else int(row.telegram_message_id),
    } | message_fields(row)
    return Event(delivery_event_id(int(row.id), row.status), DELIVERY, row.finished_at, data)


def click_event(detail: Any, app_uuid: str, link: str, at: datetime) -> Event:
    data = {
        "appUuid": app_uuid,
        "chatId": detail.token,
        "link": link,
    } | message_fields(detail)
    return Event(new_id(), CLICK, at, data)


def mute_event(
    action: str,
    app_uuid: str,
    token: str,
    muted_until: datetime | None,
    at: datetime,
    by: str | None,
    event_id: str | None = None,
) -> Event:
    """action: muted | unmuted | expired."""
    data = {
        "action": action,
        "appUuid": app_uuid,
        "chatId": token,
        "mutedUntil": iso(muted_until),
        "by": by,
    }
    return Event(event_id or new_id(), MUTE, at, data)


def subscriber_event(
    action: str, app_uuid: str, token: str, contact: Any, at: datetime, **extra: Any
) -> Event:
    """action: added | moved | deactivated | reactivated."""
    data = {"action": action, "appUuid": app_uuid, "chatId": token} | contact_fields(contact)
    return Event(new_id(), SUBSCRIBER, at, data | extra)


# -- Yespo's webhook shape ---------------------------------------------------------


def yespo_activity(event: dict[str, Any]) -> dict[str, Any]:
    """A delivery or click event as a Yespo activity object; others are left as they are
    (Yespo has no mute or token events)."""
    if event.get("type") == DELIVERY:
        status = event.get("status")
        activity = "DELIVERED" if status == "DELIVERED" else "UNDELIVERED"
        description = None if activity == "DELIVERED" else event.get("errorName")
    elif event.get("type") == CLICK:
        activity, description = "CLICKED", None
    else:
        return event
    out = {
        "iid": event["id"],
        "activityStatus": activity,
        "mediaType": "Telegram",
        "channelType": "telegrambot",
        "activityDateTime": event["occurredAt"],
        "contactId": event.get("contactId"),
        "externalCustomerId": event.get("externalCustomerId"),
        "messageId": event.get("messageId"),
        "messageInstanceId": event.get("deliveryId"),
        "broadcastId": event.get("broadcastId"),
        "externalRequestId": event.get("externalRequestId"),
        "requestId": event.get("requestId"),
        "statusDescription": description,
        "clickEventLink": event.get("link"),
        "appUuid": event.get("appUuid"),
        "token": event.get("chatId"),
    }
    return {k: v for k, v in out.items() if v is not None}


def body_bytes(fmt: str, webhook_id: int, payloads: list[str]) -> bytes:
    """The POST body from the stored event JSON: for Hushcast's shape the stored text is
    joined as it is (no parsing on the worker's loop); Yespo's shape is built."""
    if fmt == "yespo":
        events = [json.loads(p) for p in payloads]
        return json.dumps(body_of(fmt, webhook_id, events), separators=(",", ":")).encode()
    return f'{{"webhookId":{int(webhook_id)},"events":[{",".join(payloads)}]}}'.encode()


def body_of(fmt: str, webhook_id: int, events: list[dict[str, Any]]) -> list[Any] | dict[str, Any]:
    """The JSON body of one POST: ``{"webhookId", "events": [...]}``, or for the yespo
    format a JSON array of activity objects, as Yespo posts them."""
    if fmt == "yespo":
        return [yespo_activity(e) for e in events]
    return {"webhookId": webhook_id, "events": events}

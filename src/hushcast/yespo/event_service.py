"""Events (POST /v1/event, /v2/event) and message activity for reporting tools
(GET /v2/contacts/activity, /v2/contacts/messages). Never commits.

Events are stored with the contact their params name (if any) and shown in the
contact's activity; nothing is triggered by them yet.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts.contact_service import CONTACT_NOT_FOUND, clean_identifier
from hushcast.core.chat_ids import normalize_chat_id
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.ids import ascii_int
from hushcast.core.timeutil import iso, utcnow
from hushcast.delivery import status as st
from hushcast.yespo import event_repository as repo
from hushcast.yespo.event_schemas import (
    ActivityItem,
    ContactActivityOut,
    ContactMessageItem,
    EventOut,
)

MAX_KEY = 200
MAX_KEY_VALUE = 500
MAX_PARAMS = 1000
MEDIA_TYPE = "telegrambot"
MAX_ACTIVITY_ROWS = 25_000
MAX_MESSAGES_ROWS = 100
CONTACT_EVENTS_SHOWN = 100
DATES_REQUIRED = "dateFrom and dateTo are required (YYYY-MM-DD or YYYY-MM-DDTHH:mm)"
BAD_DATE = "{name} must be YYYY-MM-DD or YYYY-MM-DDTHH:mm"
CONTACT_REQUIRED = "One of contactId, externalCustomerId, email, phone is required"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?(\.\d+)?Z?")

# Event param name (lower case) -> how it names the contact, in Yespo's order.
_ID_PARAMS = (
    ("contactid", "id"),
    ("externalcustomerid", "external_customer_id"),
    ("emailaddress", "email"),
    ("email", "email"),
    ("phone", "phone"),
    ("phonenumber", "phone"),
    ("sms", "phone"),
    ("telegrambottoken", "token"),
)


# --- events ---


def _params(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("params must be an array of {name, value}")
    if len(raw) > MAX_PARAMS:
        raise BadRequest(f"params: at most {MAX_PARAMS} entries")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise BadRequest(f"params[{i}] must be an object with name and value")
        out.append({"name": p["name"].strip(), "value": p.get("value")})
    return out


def _contact_of(conn: Connection, org_id: int, params: list[dict[str, Any]]) -> int | None:
    by_name = {p["name"].lower(): p["value"] for p in params}
    for name, column in _ID_PARAMS:
        value = by_name.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int):
            continue
        if column == "id":
            text = str(value).strip()
            if (ascii_int(text) is not None) and 0 < int(text) < 2**63:
                found = repo.contact_by(conn, org_id, "id", int(text))
                if found is not None:
                    return found
        elif column == "token":
            token = normalize_chat_id(value)
            found = repo.contact_by_token(conn, org_id, token) if token else None
            if found is not None:
                return found
        else:
            api_name = {"external_customer_id": "externalCustomerId"}.get(column, column)
            try:
                cleaned = clean_identifier("", api_name, value)
            except ApiError:
                continue
            found = repo.contact_by(conn, org_id, column, cleaned) if cleaned else None
            if found is not None:
                return found
    return None


def record_event(conn: Connection, org_id: int, body: dict[str, Any]) -> int:
    key = body.get("eventTypeKey")
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("eventTypeKey must be specified")
    if len(key.strip()) > MAX_KEY:
        raise BadRequest(f"eventTypeKey is longer than {MAX_KEY} characters")
    key_value = body.get("keyValue")
    if key_value is not None:
        if isinstance(key_value, bool) or not isinstance(key_value, str | int):
            raise BadRequest("keyValue must be a string")
        key_value = str(key_value)
        if len(key_value) > MAX_KEY_VALUE:
            raise BadRequest(f"keyValue is longer than {MAX_KEY_VALUE} characters")
    params = _params(body.get("params"))
    return repo.insert_event(
        conn,
        {
            "organization_id": org_id,
            "contact_id": _contact_of(conn, org_id, params),
            "event_type_key": key.strip(),
            "key_value": key_value,
            "params": params or None,
            "created_at": utcnow(),
        },
    )


# --- activity ---


def parse_date(name: str, value: str | None, end: bool = False) -> datetime:
    if value is None or not value.strip():
        raise BadRequest(DATES_REQUIRED)
    text = value.strip()
    if _DATE.fullmatch(text):
        day = datetime.strptime(text, "%Y-%m-%d")
        return day + timedelta(days=1) if end else day  # a date alone: the whole day
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise BadRequest(BAD_DATE.format(name=name))
    try:
        return datetime.strptime(
            f"{m.group(1)}T{m.group(2)}{m.group(3) or ':00'}", "%Y-%m-%dT%H:%M:%S"
        )
    except ValueError:
        raise BadRequest(BAD_DATE.format(name=name)) from None


def _public(row: Any) -> tuple[str, str | None, datetime | None]:
    """(activityStatus, statusDescription, when) in Yespo's vocabulary."""
    if row.status == st.CLICKED:
        return "CLICKED", None, row.clicked_at or row.finished_at
    if row.status == st.DELIVERED:
        return "DELIVERED", None, row.finished_at
    description = row.error_name or row.description
    if row.status == st.ERROR and row.error_name == st.BOT_SEND_ERROR and row.description:
        description = f"{st.BOT_SEND_ERROR}: {row.description}"
    return "UNDELIVERED", description, row.finished_at


# activityStatus filter -> stored statuses.
_STATUS_FILTER = {
    "DELIVERED": [st.DELIVERED],
    "CLICKED": [st.CLICKED],
    "UNDELIVERED": [st.ERROR, st.UNAVAILABLE],
}


def _status_filter(value: str | None) -> list[str] | None:
    if value is None or not value.strip():
        return None
    wanted: list[str] = []
    for part in value.split(","):
        wanted.extend(_STATUS_FILTER.get(part.strip().upper(), []))
    return wanted


def _contact_ids(conn: Connection, org_id: int, by: dict[str, str | None]) -> list[int] | None:
    given = {k: v.strip() for k, v in by.items() if v is not None and v.strip()}
    if not given:
        return None
    ids = []
    for api_name, value in given.items():
        if api_name == "contactId":
            found = (
                repo.contact_by(conn, org_id, "id", int(value))
                if (ascii_int(value) is not None) and int(value) < 2**63
                else None
            )
        else:
            column = {
                "externalCustomerId": "external_customer_id",
                "email": "email",
                "sms": "phone",
                "phone": "phone",
            }[api_name]
            found = repo.contact_by(conn, org_id, column, value)
        ids.append(found if found is not None else -1)
    return ids


def activity(
    conn: Connection,
    org_id: int,
    date_from: str | None,
    date_to: str | None,
    offset: str | None,
    maxrows: int,
    activity_status: str | None,
    identifiers: dict[str, str | None],
) -> list[ActivityItem]:
    start, end = parse_date("dateFrom", date_from), parse_date("dateTo", date_to, end=True)
    after = 0
    if offset is not None and offset.strip():
        if not (ascii_int(offset.strip()) is not None):
            raise BadRequest("offset must be the offset of the last item of the previous page")
        after = int(offset.strip())
    rows = repo.activity(
        conn,
        org_id,
        start,
        end,
        after,
        min(maxrows, MAX_ACTIVITY_ROWS),
        _contact_ids(conn, org_id, identifiers),
        _status_filter(activity_status),
    )
    out = []
    for r in rows:
        status, description, when = _public(r)
        out.append(
            ActivityItem(
                iid=str(r.id),
                externalRequestId=r.external_request_id,
                contactId=r.contact_id,
                externalCustomerId=r.external_customer_id,
                activityStatus=status,
                statusDescription=description,
                messageId=int(r.message_id),
                messageInstanceId=int(r.id),
                activityDateTime=iso(when),
                broadcastId=r.broadcast_id,
                offset=str(r.id),
            )
        )
    return out


def _message_item(r: Any) -> ContactMessageItem:
    status, description, when = _public(r)
    return ContactMessageItem(
        iid=str(r.id),
        messageId=int(r.message_id),
        messageInstanceId=int(r.id),
        broadcastId=r.broadcast_id,
        externalRequestId=r.external_request_id,
        activityStatus=status,
        statusDescription=description,
        activityDateTime=iso(when),
    )


def contact_messages(
    conn: Connection,
    org_id: int,
    date_from: str | None,
    date_to: str | None,
    identifiers: dict[str, str | None],
    channel_types: str | None,
    offset: int,
    maxrows: int,
) -> list[ContactMessageItem]:
    start, end = parse_date("dateFrom", date_from), parse_date("dateTo", date_to, end=True)
    ids = _contact_ids(conn, org_id, identifiers)
    if ids is None:
        raise BadRequest(CONTACT_REQUIRED)
    if channel_types and MEDIA_TYPE not in [c.strip().lower() for c in channel_types.split(",")]:
        return []
    rows = repo.activity(
        conn, org_id, start, end, 0, min(maxrows, MAX_MESSAGES_ROWS), ids, None, skip=offset
    )
    return [_message_item(r) for r in rows]


def contact_activity(conn: Connection, org_id: int, contact_id: int) -> ContactActivityOut:
    """A contact's latest events and messages (Hushcast extension)."""
    if not 0 < contact_id < 2**63 or repo.contact_by(conn, org_id, "id", contact_id) is None:
        raise NotFound(CONTACT_NOT_FOUND)
    events = [
        EventOut(
            id=int(e.id),
            eventTypeKey=e.event_type_key,
            keyValue=e.key_value,
            params=list(e.params or []),
            occurredAt=iso(e.created_at) or "",
        )
        for e in repo.events_of_contact(conn, contact_id, CONTACT_EVENTS_SHOWN)
    ]
    rows = repo.activity(
        conn,
        org_id,
        datetime(1970, 1, 1),
        datetime(9999, 1, 1),
        0,
        CONTACT_EVENTS_SHOWN,
        [contact_id],
        None,
    )
    return ContactActivityOut(events=events, messages=[_message_item(r) for r in rows])

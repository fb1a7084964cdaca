"""Transactional sends (smartsend, test) and their status. Never commits.

Transactional messages ignore mute and go before broadcasts: their delivery rows have
priority PRIORITY_TRANSACTIONAL. A request is checked whole for shape first (400 naming
the index, nothing queued); then each recipient succeeds or fails on its own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hushcast.broadcasts.service import MESSAGE_NOT_FOUND, app_for_org
from hushcast.core.chat_ids import parse_chat_id
from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.ids import positive_int
from hushcast.core.timeutil import utcnow
from hushcast.delivery import eligibility as el
from hushcast.delivery import status as st
from hushcast.delivery.wakeup import notify_work
from hushcast.messages.languages import is_language_code, normalize
from hushcast.sending import repository as repo
from hushcast.sending.schemas import SendResponse, SendResult, StatusItem, StatusResponse

MAX_RECIPIENTS = 1000
MAX_STATUS_IDS = 1000
MAX_EXTERNAL_ID = 200
MAX_EXTERNAL_REQUEST_ID = 200

OK = "OK"
ERROR = "ERROR"
NOT_FOUND = "NOT_FOUND"

CONTACT_NOT_FOUND = "Contact not found"
NO_ACTIVE_TOKEN = "Contact has no active Telegram token for this bot"
BAD_JSON_PARAM = "jsonParam must be a JSON object encoded as a string"
BAD_QUIET_POLICY = "quietHoursPolicy must be defer, skip or ignore"
EMAIL_NOT_SENT = (
    "email must be false: this service sends Telegram messages only, never e-mail "
    "(send email=false or leave it out; recipients are chat ids, contactIds or "
    "externalCustomerIds)"
)


def not_registered(token: str) -> str:
    return f"Token {token} is not registered for this bot"


@dataclass
class Target:
    """One recipient as asked: exactly one of locator, contact_id, external_id is used."""

    locator: str | None = None
    contact_id: int | None = None
    external_id: str | None = None
    json_param: str | None = None
    external_request_id: str | None = None
    # Yespo's languageCode: the message's translation in it is sent (else the contact's).
    language: str | None = None
    # A problem with this recipient alone: reported as its ERROR result, nothing queued.
    error: str | None = None


# --- parsing ---------------------------------------------------------------------------------


def _json_param(value: Any) -> tuple[str | None, str | None]:
    """(jsonParam to store, error)."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, BAD_JSON_PARAM
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None, BAD_JSON_PARAM
    if not isinstance(parsed, dict):
        return None, BAD_JSON_PARAM
    return value, None


def _external_request_id(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, "externalRequestId must be a string"
    text = str(value)
    if len(text) > MAX_EXTERNAL_REQUEST_ID:
        return None, f"externalRequestId is longer than {MAX_EXTERNAL_REQUEST_ID} characters"
    return text, None


def _language(value: Any, index: int) -> tuple[str | None, str | None]:
    """(languageCode normalised, None) or (None, this recipient's error)."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str) or not is_language_code(value):
        return None, (
            f"recipients[{index}].languageCode must be a language code such as en, uk or pt-BR"
        )
    return normalize(value), None


def parse_recipients(body: dict[str, Any]) -> list[Target]:
    raw = body.get("recipients")
    if raw is None:
        raise BadRequest("recipients is required: a non-empty array")
    if not isinstance(raw, list):
        raise BadRequest("recipients must be an array")
    if not raw:
        raise BadRequest("recipients must not be empty")
    if len(raw) > MAX_RECIPIENTS:
        raise BadRequest(f"At most {MAX_RECIPIENTS} recipients per request")
    targets: list[Target] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequest(f"recipients[{i}] must be an object")
        target = Target()
        if item.get("locator") is not None:
            target.locator = parse_chat_id(item["locator"], f"recipients[{i}].locator")
        elif item.get("contactId") is not None:
            target.contact_id = positive_int(item["contactId"])
            if target.contact_id is None:
                raise BadRequest(f"recipients[{i}].contactId must be a positive integer")
        elif item.get("externalCustomerId") is not None:
            ext = item["externalCustomerId"]
            text = "" if isinstance(ext, bool) or not isinstance(ext, str | int) else str(ext)
            text = text.strip()
            if not text or len(text) > MAX_EXTERNAL_ID:
                raise BadRequest(
                    f"recipients[{i}].externalCustomerId must be a non-empty string of at most "
                    f"{MAX_EXTERNAL_ID} characters"
                )
            target.external_id = text
        else:
            raise BadRequest(f"recipients[{i}] needs one of locator, contactId, externalCustomerId")
        target.json_param, json_error = _json_param(item.get("jsonParam"))
        target.external_request_id, ext_error = _external_request_id(item.get("externalRequestId"))
        target.language, language_error = _language(item.get("languageCode"), i)
        target.error = json_error or ext_error or language_error
        targets.append(target)
    return targets


def check_email_flag(body: dict[str, Any]) -> None:
    value = body.get("email")
    if value is None or value is False:
        return
    raise BadRequest(EMAIL_NOT_SENT)


def parse_test_targets(body: dict[str, Any]) -> list[Target]:
    targets: list[Target] = []
    tokens = body.get("tokens")
    if tokens is not None:
        if not isinstance(tokens, list):
            raise BadRequest("tokens must be an array of chat ids")
        for i, value in enumerate(tokens):
            targets.append(Target(locator=parse_chat_id(value, f"tokens[{i}]")))
    contact_ids = body.get("contactIds")
    if contact_ids is not None:
        if not isinstance(contact_ids, list):
            raise BadRequest("contactIds must be an array of contact ids")
        for i, value in enumerate(contact_ids):
            cid = positive_int(value)
            if cid is None:
                raise BadRequest(f"contactIds[{i}] must be a positive integer")
            targets.append(Target(contact_id=cid))
    if not targets:
        raise BadRequest("tokens or contactIds must be given")
    if len(targets) > MAX_RECIPIENTS:
        raise BadRequest(f"At most {MAX_RECIPIENTS} recipients per request")
    return targets


# --- queueing --------------------------------------------------------------------------------


def require_message(conn: Connection, org_id: int, message_id: int) -> None:
    if not repo.message_exists(conn, org_id, message_id):
        raise NotFound(MESSAGE_NOT_FOUND)


def _result(target: Target, locator: str | None, **fields: Any) -> SendResult:
    """A result; only the fields set here are shown (so OK results carry no message)."""
    if target.contact_id is not None:
        fields["contactId"] = target.contact_id
    if target.external_id is not None:
        fields["externalCustomerId"] = target.external_id
    return SendResult(locator=locator, **fields)


def _error(target: Target, message: str) -> SendResult:
    return _result(target, target.locator, status=ERROR, requestId=None, message=message)


def queue(
    conn: Connection,
    org_id: int,
    app_id: int,
    message_id: int,
    targets: list[Target],
    kind: str,
    *,
    quiet_policy: str | None = None,
) -> SendResponse:
    """One delivery row per resolved token; results in input order (one per token)."""
    registered = repo.tokens_of_app(conn, app_id, [t.locator for t in targets if t.locator])
    by_external = repo.contacts_by_external_id(
        conn, org_id, [t.external_id for t in targets if t.external_id]
    )
    known_ids = repo.existing_contact_ids(
        conn, org_id, [t.contact_id for t in targets if t.contact_id is not None]
    )
    wanted_contacts = list(known_ids) + list(by_external.values())
    contact_tokens = repo.active_tokens_of_contacts(conn, app_id, wanted_contacts)

    now = utcnow()
    rows: list[dict[str, Any]] = []
    results: list[SendResult] = []

    def add(target: Target, token: str, contact_id: int) -> None:
        request_id = str(uuid.uuid4())
        rows.append(
            {
                "organization_id": org_id,
                "app_id": app_id,
                "broadcast_id": None,
                "message_id": message_id,
                "kind": kind,
                "priority": st.PRIORITY_TRANSACTIONAL,
                "token": token,
                "contact_id": contact_id,
                "request_id": request_id,
                "external_request_id": target.external_request_id,
                "json_param": target.json_param,
                "language_code": target.language,
                "quiet_hours_policy": quiet_policy,
                "status": st.IN_QUEUE,
                "attempts": 0,
                "available_at": now,
                "created_at": now,
            }
        )
        results.append(_result(target, token, status=OK, requestId=request_id))

    for target in targets:
        if target.error is not None:
            results.append(_error(target, target.error))
        elif target.locator is not None:
            row = registered.get(target.locator)
            if row is None:
                results.append(_error(target, not_registered(target.locator)))
            else:
                add(target, target.locator, int(row.contact_id))
        else:
            cid = (
                target.contact_id
                if target.contact_id is not None and target.contact_id in known_ids
                else by_external.get(target.external_id or "")
            )
            if cid is None:
                results.append(_error(target, CONTACT_NOT_FOUND))
            elif not contact_tokens.get(cid):
                results.append(_error(target, NO_ACTIVE_TOKEN))
            else:
                for token in contact_tokens[cid]:
                    add(target, token, cid)
    # Recipients given without a languageCode get their contact's (Yespo's Contact field).
    unset = [int(r["contact_id"]) for r in rows if r["language_code"] is None and r["contact_id"]]
    if unset:
        languages = repo.profile_languages(conn, unset)
        for r in rows:
            if r["language_code"] is None and r["contact_id"] in languages:
                r["language_code"] = normalize(languages[r["contact_id"]])
    repo.insert_deliveries(conn, rows)
    if rows:
        notify_work(conn, app_id)
    return SendResponse(id=message_id, results=results)


def parse_quiet_hours_policy(body: dict[str, Any]) -> str | None:
    """Transactional messages ignore quiet hours unless the request asks: "defer" (wait
    for their end) or "skip" (QUIET_HOURS). None: ignore (the default)."""
    value = body.get("quietHoursPolicy")
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in el.QUIET_POLICIES:
        raise BadRequest(BAD_QUIET_POLICY)
    policy = value.strip().lower()
    return None if policy == el.QUIET_IGNORE else policy


def smartsend(conn: Connection, org_id: int, message_id: int, body: dict[str, Any]) -> SendResponse:
    """Checks in order: message, recipients shape, email flag, quietHoursPolicy, app; then
    queues."""
    require_message(conn, org_id, message_id)
    targets = parse_recipients(body)
    check_email_flag(body)
    quiet = parse_quiet_hours_policy(body)
    app = app_for_org(conn, org_id, body.get("appId"))
    return queue(
        conn, org_id, int(app.id), message_id, targets, st.KIND_SMARTSEND, quiet_policy=quiet
    )


def send_test(conn: Connection, org_id: int, message_id: int, body: dict[str, Any]) -> SendResponse:
    require_message(conn, org_id, message_id)
    targets = parse_test_targets(body)
    app = app_for_org(conn, org_id, body.get("appId"))
    return queue(conn, org_id, int(app.id), message_id, targets, st.KIND_TEST)


# --- status ----------------------------------------------------------------------------------


def parse_ids(values: list[str] | None) -> list[str]:
    ids = [part.strip() for v in values or [] for part in v.split(",")]
    ids = [i for i in ids if i]
    if not ids:
        raise BadRequest("ids is required: request ids, comma-separated")
    if len(ids) > MAX_STATUS_IDS:
        raise BadRequest(f"At most {MAX_STATUS_IDS} ids per request")
    return ids


def _status_item(request_id: str, row: Any) -> StatusItem:
    if row is None:
        return StatusItem(requestId=request_id, status=NOT_FOUND, delivered=False, failed=False)
    status: str = row.status
    shown = st.public_status(status, row.error_name)
    failed = status == st.ERROR
    return StatusItem(
        requestId=request_id,
        status=shown,
        delivered=status in (st.DELIVERED, st.CLICKED),
        failed=failed,
        error=(row.description or row.error_name) if failed else None,
    )


def statuses(conn: Connection, org_id: int, request_ids: list[str]) -> StatusResponse:
    found = repo.deliveries_by_request_ids(conn, org_id, request_ids)
    return StatusResponse(results=[_status_item(r, found.get(r)) for r in request_ids])

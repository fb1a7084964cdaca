"""Yespo's legacy ``POST /v1/message/{id}/send`` (``params: [{key, value}]``,
``recipients``, ``contactId``, ``groupId``), translated into a smartsend. Never commits."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import BadRequest
from hushcast.sending import service as sending
from hushcast.sending.schemas import SendResponse

GROUP_IS_A_BROADCAST = (
    "groupId: sending a message to a group is a broadcast here: "
    'POST /v1/broadcast with {"messageId", "groups": [groupId]}'
)
NO_RECIPIENTS = (
    "recipients (chat ids) or contactId is required; "
    "POST /v1/message/{id}/smartsend takes contactId, externalCustomerId or locator"
)


def _params(raw: Any) -> str | None:
    """params [{key, value}] as the jsonParam string smartsend takes ($!data.get('key'))."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadRequest("params must be an array of {key, value}")
    data: dict[str, Any] = {}
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not isinstance(p.get("key"), str) or not p["key"]:
            raise BadRequest(f"params[{i}] must be an object with key and value")
        data[p["key"]] = p.get("value")
    return json.dumps(data)


def to_smartsend(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("groupId") is not None:
        raise BadRequest(GROUP_IS_A_BROADCAST)
    json_param = _params(body.get("params"))
    recipients: list[Any] = []
    raw = body.get("recipients")
    if raw is not None and not isinstance(raw, list):
        raise BadRequest("recipients must be an array of chat ids")
    for r in raw or []:
        item = dict(r) if isinstance(r, dict) else {"locator": r}
        if json_param is not None and item.get("jsonParam") is None:
            item["jsonParam"] = json_param
        recipients.append(item)
    if body.get("contactId") is not None:
        recipients.append({"contactId": body["contactId"], "jsonParam": json_param})
    if not recipients:
        raise BadRequest(NO_RECIPIENTS)
    out = {"recipients": recipients, "email": body.get("email")}
    if "appId" in body:
        out["appId"] = body["appId"]
    return out


def legacy_send(
    conn: Connection, org_id: int, message_id: int, body: dict[str, Any]
) -> SendResponse:
    sending.require_message(conn, org_id, message_id)
    return sending.smartsend(conn, org_id, message_id, to_smartsend(body))

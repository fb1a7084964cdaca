"""Eligibility-policy helpers for tests: contact zones, row statuses of a broadcast."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from tests.support.live import deliveries_by_token


def set_zone(http: httpx.Client, customer: str, zone: str) -> int:
    """Gives the contact with this externalCustomerId a time zone; returns its id."""
    r = http.post("/v1/contact", json={"externalCustomerId": customer, "timeZone": zone})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def statuses(db: Any, broadcast_id: int) -> dict[str, tuple[str, str | None]]:
    """chat id -> (status, error_name) of the broadcast's rows."""
    return {t: (r.status, r.error_name) for t, r in deliveries_by_token(db, broadcast_id).items()}


def status_counts(db: Any, broadcast_id: int) -> Counter[str]:
    return Counter(s for s, _ in statuses(db, broadcast_id).values())


def broadcast(http: httpx.Client, message_id: int, app_uuid: str, **fields: Any) -> int:
    r = http.post("/v1/broadcast", json={"messageId": message_id, "appId": app_uuid, **fields})
    assert r.status_code == 200, r.text
    return int(r.json()["broadcastId"])

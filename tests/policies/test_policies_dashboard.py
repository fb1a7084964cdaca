"""The dashboard's report shows each broadcast policy and the parked counters."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from hushcast.delivery import status as st
from tests.support.broadcasts import add_delivery, add_message
from tests.support.clock import Clock
from tests.support.web import signed_in


def test_report_shows_policies_and_held_and_waiting(
    client: TestClient, api_key: str, app_uuid: str, db: Database, clock: Clock
) -> None:
    clock.set(datetime(2030, 6, 30, 12, 0))
    mid = add_message(db)
    body = {
        "messageId": mid,
        "appId": app_uuid,
        "mutePolicy": "hold",
        "quietHoursPolicy": "skip",
        "localTime": "10:00",
        "localDate": "2030-07-01",
    }
    bid = int(client.post("/v1/broadcast", json=body).json()["broadcastId"])
    for token, status in (
        ("1", st.HELD),
        ("2", st.WAITING),
        ("3", st.WAITING),
        ("4", st.DELIVERED),
    ):
        add_delivery(
            db, app_uuid=app_uuid, message_id=mid, token=token, status=status, broadcast_id=bid
        )
    signed_in(client, api_key)
    page = client.get(f"/ui/broadcasts/{bid}")
    assert page.status_code == 200, page.text[:300]
    text = page.text
    assert "held until their mute ends" in text
    assert "Quiet hours: skip" in text
    assert "Local time: 10:00 on 2030-07-01" in text
    assert '<div class="counter" data-counter="held"><dt>Held</dt><dd>1</dd>' in text
    assert '<div class="counter" data-counter="waiting"><dt>Waiting</dt><dd>2</dd>' in text

    plain = client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()
    text = client.get(f"/ui/broadcasts/{plain['broadcastId']}").text
    assert "Muted chats: skipped" in text and "Local time" not in text
    assert 'data-counter="held"' not in text and 'data-counter="waiting"' not in text

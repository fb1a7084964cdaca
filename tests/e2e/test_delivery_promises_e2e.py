"""The engine's promises, tried as a user would, against the running service and the fake
Telegram server (issue 11, items 1-3): no mute leak through a migration, no recipient
that wedges its bot, no old text after a PUT."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.live import broadcast_done, create_message, deliveries_by_token, setup_bot
from tests.support.service import LiveService
from tests.support.waiting import wait_for


def test_group_migrated_into_a_muted_chat_gets_nothing(
    live: LiveService, fake_telegram: Any, db: Any
) -> None:
    fake_telegram.configure(migrated={"-5": -1005})
    app_uuid = setup_bot(live, fake_telegram, ["-5", "43100"])
    http = live.http
    r = http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "-1005"})
    assert r.status_code < 300, r.text
    mid = create_message(http, "Group news")
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert fake_telegram.messages("-1005") == []
    assert len(fake_telegram.messages("43100")) == 1
    row = deliveries_by_token(db, bid)["-1005"]
    assert (row.status, row.error_name) == ("UNAVAILABLE", "CHANNEL_WAS_MUTED")
    muted = http.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": "-1005"})
    assert muted.status_code == 200 and "-1005" in muted.text


def test_a_poison_recipient_fails_alone_and_does_not_wedge_its_bot(
    live: LiveService, fake_telegram: Any, db: Any
) -> None:
    app_uuid = setup_bot(live, fake_telegram, ["5001", "5002", "5003"])
    http = live.http
    mid = create_message(http, "Order $data.get('order')")
    deep = '{"order": ' + "[" * 600 + "]" * 600 + "}"
    body = {
        "recipients": [
            {"locator": "5001", "jsonParam": deep},
            {"locator": "5002", "jsonParam": json.dumps({"order": "A-2"})},
        ],
        "appId": app_uuid,
    }
    r = http.post(f"/v1/message/{mid}/smartsend", json=body)
    assert r.status_code == 200, r.text
    wait_for(lambda: fake_telegram.messages("5002"), timeout=15)
    # The bot is not wedged: a broadcast after it goes out too.
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert len(fake_telegram.messages("5001")) == 1  # the broadcast's, not the poison
    from sqlalchemy import select

    from hushcast.delivery.models import deliveries

    with db.read() as conn:
        bad = conn.execute(
            select(deliveries).where(
                deliveries.c.token == "5001", deliveries.c.broadcast_id.is_(None)
            )
        ).one()
    assert (bad.status, bad.error_name) == ("ERROR", "TEMPLATE_ERROR")
    assert bad.description and len(bad.description) <= 500


def test_a_replaced_message_goes_out_in_its_new_text(
    live: LiveService, fake_telegram: Any, db: Any
) -> None:
    tokens = [str(46_000 + i) for i in range(12)]
    app_uuid = setup_bot(live, fake_telegram, tokens, messagesPerSecond=4)
    http = live.http
    mid = create_message(http, "version one")
    bid = int(
        http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid}).json()["broadcastId"]
    )
    wait_for(lambda: len(fake_telegram.messages()) >= 2, timeout=20)
    r = http.put(f"/v1/messages/telegram/{mid}", json={"name": "msg", "text": "version two"})
    assert r.status_code == 200, r.text
    put_returned = time.monotonic()
    wait_for(lambda: broadcast_done(http, bid), timeout=30)
    sent = sorted(fake_telegram.messages(), key=lambda m: m["monotonic"])
    # A send checked before the PUT returned may still arrive just after it.
    later = [m["text"] for m in sent if m["monotonic"] > put_returned + 0.3]
    assert later and set(later) == {"version two"}, [m["text"] for m in sent]

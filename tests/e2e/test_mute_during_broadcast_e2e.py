"""A mute committed while a broadcast runs stops every send that reaches Telegram after
the mute API answered (issue 11; docs/reliability.md, "Mute during a broadcast").

The window between a send's pre-send check and its request is widened on purpose: the
fake holds every answer (``hold_sends``), so the worker's requests pile up in flight
until its budget is used up. Two bots share one worker, as they do in production. A
send checked before the mute but still waiting (for a connection, a slot, a render)
when the mute returns would reach the fake after it: that is the leak counted here,
by the time each request *arrived* at the fake (``arrival_wall_time``).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.delivery.models import deliveries
from tests.support.live import broadcast_done, create_message, setup_bot
from tests.support.service import LiveService
from tests.support.waiting import wait_for

CONCURRENCY = 300  # per worker; two bots together want more than that
PER_BOT = 700


def _held_steady(fake: Any, at_least: int) -> bool:
    """The fake holds at least ``at_least`` requests and no more are arriving."""
    before = fake.stats()["requests"]
    if fake.stats()["in_flight"] < at_least:
        return False
    time.sleep(0.5)
    return fake.stats()["requests"] == before


def test_no_send_reaches_a_chat_after_its_mute_returned(
    settings: Settings, db: Database, api_key: str, fake_telegram: Any
) -> None:
    fake_telegram.configure(enforce_limits=False, hold_sends=True)
    live = LiveService(
        settings.model_copy(
            update={
                "worker_poll_s": 0.05,
                "worker_lease_s": 5.0,
                "worker_concurrency": CONCURRENCY,
            }
        ),
        db,
        api_key,
    )
    try:
        http = live.http
        bots: dict[str, list[str]] = {}
        for b in range(2):
            tokens = [str(610_000 + b * 10_000 + i) for i in range(PER_BOT)]
            app_uuid = setup_bot(
                live, fake_telegram, tokens, paidBroadcast=True, paidMessagesPerSecond=1000
            )
            bots[app_uuid] = tokens
        mid = create_message(http, "Flash sale")
        bids = []
        for app_uuid in bots:
            r = http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid})
            assert r.status_code == 200, r.text
            bids.append(int(r.json()["broadcastId"]))

        # Everything the worker may put in flight is at the fake, held; whatever it
        # checked beyond that is waiting inside the worker.
        wait_for(lambda: _held_steady(fake_telegram, CONCURRENCY), timeout=30, interval=0.1)
        held = fake_telegram.stats()["in_flight"]

        returned: dict[str, float] = {}
        for app_uuid, tokens in bots.items():
            r = http.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": tokens})
            assert r.status_code == 200, r.text
            returned[app_uuid] = time.time()
        fake_telegram.configure(hold_sends=False)

        for bid in bids:
            wait_for(lambda bid=bid: broadcast_done(http, bid), timeout=60, interval=0.2)
    finally:
        fake_telegram.configure(hold_sends=False)
        live.stop()

    leaked: list[tuple[str, float]] = []
    reached = 0
    for app_uuid, tokens in bots.items():
        wanted = set(tokens)
        for m in fake_telegram.messages():
            if m["chat_id"] in wanted:
                reached += 1
                if m["arrival_wall_time"] > returned[app_uuid]:
                    leaked.append((m["chat_id"], m["arrival_wall_time"] - returned[app_uuid]))
    assert leaked == [], f"{len(leaked)} sends reached muted chats after the mute returned"
    # The held sends (arrived before the mute) are the only ones that went out.
    assert reached == held, (reached, held)
    with db.read() as conn:
        muted = conn.execute(
            select(func.count()).where(
                deliveries.c.broadcast_id.in_(bids),
                deliveries.c.error_name == "CHANNEL_WAS_MUTED",
            )
        ).scalar_one()
    assert muted == 2 * PER_BOT - reached

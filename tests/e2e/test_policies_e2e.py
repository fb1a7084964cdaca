"""The eligibility pipeline end to end: the API, the worker and the fake Telegram server,
on SQLite and PostgreSQL, with the service's clock moved instead of sleeping."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tests.support.clock import Clock
from tests.support.live import broadcast_done, create_message, setup_bot
from tests.support.policies import broadcast, set_zone, status_counts, statuses
from tests.support.service import LiveService
from tests.support.waiting import wait_for

DAY = datetime(2030, 1, 15)  # winter: Kyiv UTC+2, New York UTC-5


def sent_to(fake: Any) -> Counter[str]:
    return Counter(str(m["chat_id"]) for m in fake.messages())


def held_count(live: LiveService, bid: int) -> int:
    return int(live.http.get(f"/v1/broadcast/{bid}").json()["held"])


def test_hold_released_by_unmute(live: LiveService, fake_telegram: Any, db: Any) -> None:
    tokens = ["510001", "510002", "510003"]
    app = setup_bot(live, fake_telegram, tokens)
    http = live.http
    assert http.post(f"/v1/apps/{app}/token/mute", json={"token": "510001"}).status_code == 200
    bid = broadcast(http, create_message(http, "Held"), app, mutePolicy="hold")
    wait_for(lambda: held_count(live, bid) == 1 and len(fake_telegram.messages()) == 2)
    view = http.get(f"/v1/broadcast/{bid}").json()
    assert view["status"] == "RUNNING"  # not FINISHED while one is held
    assert statuses(db, bid)["510001"] == ("HELD", None)
    assert "510001" not in sent_to(fake_telegram)
    assert http.post(f"/v1/apps/{app}/token/unmute", json={"token": "510001"}).status_code == 200
    done = wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert (done["delivered"], done["held"]) == (3, 0)
    assert sent_to(fake_telegram) == Counter(tokens)


def test_hold_released_by_expiry_and_ended_by_the_deadline(
    live: LiveService, fake_telegram: Any, db: Any, clock: Clock
) -> None:
    app = setup_bot(live, fake_telegram, ["520001", "520002"])
    http = live.http
    mute = f"/v1/apps/{app}/token/mute"
    assert http.post(mute, json={"token": "520001", "duration": 3600}).status_code == 200
    assert http.post(mute, json={"token": "520002"}).status_code == 200  # forever
    bid = broadcast(
        http, create_message(http, "Held"), app, mutePolicy="hold"
    )  # holdUntil: 24 h after the start
    wait_for(lambda: held_count(live, bid) == 2)
    clock.advance(timedelta(hours=1, minutes=1))  # the timed mute expired
    wait_for(lambda: statuses(db, bid)["520001"] == ("DELIVERED", None), timeout=20)
    assert statuses(db, bid)["520002"] == ("HELD", None)
    clock.advance(timedelta(hours=23))  # past holdUntil, still muted
    done = wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert statuses(db, bid)["520002"] == ("UNAVAILABLE", "CHANNEL_WAS_MUTED")
    assert (done["delivered"], done["unavailable"], done["held"]) == (1, 1, 0)
    assert sent_to(fake_telegram) == Counter(["520001"])


def test_cancel_ends_held_rows_as_cancelled(live: LiveService, fake_telegram: Any, db: Any) -> None:
    app = setup_bot(live, fake_telegram, ["530001", "530002"])
    http = live.http
    assert http.post(f"/v1/apps/{app}/token/mute", json={"token": "530001"}).status_code == 200
    bid = broadcast(http, create_message(http, "Held"), app, mutePolicy="hold")
    wait_for(lambda: held_count(live, bid) == 1 and len(fake_telegram.messages()) == 1)
    assert http.delete(f"/v1/broadcast/{bid}").json()["status"] == "CANCELLED"
    assert statuses(db, bid)["530001"] == ("CANCELLED", None)
    http.post(f"/v1/apps/{app}/token/unmute", json={"token": "530001"})
    assert statuses(db, bid)["530001"] == ("CANCELLED", None)


def test_muted_skip_stays_the_default(live: LiveService, fake_telegram: Any, db: Any) -> None:
    app = setup_bot(live, fake_telegram, ["540001", "540002"])
    http = live.http
    http.post(f"/v1/apps/{app}/token/mute", json={"token": "540001"})
    bid = broadcast(http, create_message(http, "Hi"), app)
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert statuses(db, bid)["540001"] == ("UNAVAILABLE", "CHANNEL_WAS_MUTED")


def test_quiet_hours_defer_skip_and_ignore_in_the_contacts_zone(
    live: LiveService, fake_telegram: Any, db: Any, clock: Clock
) -> None:
    # 21:30 UTC: 23:30 in Kyiv (quiet), 16:30 in New York (not quiet).
    clock.set(DAY.replace(hour=21, minute=30))
    kyiv, ny = "550001", "550002"
    app = setup_bot(live, fake_telegram, [kyiv, ny])
    http = live.http
    set_zone(http, f"c-{kyiv}", "Europe/Kyiv")
    set_zone(http, f"c-{ny}", "America/New_York")
    assert (
        http.put(
            "/v1/policies", json={"quietHours": {"start": "22:00", "end": "08:00"}}
        ).status_code
        == 200
    )
    msg = create_message(http, "Night")

    skip = broadcast(http, msg, app, quietHoursPolicy="skip")
    wait_for(lambda: broadcast_done(http, skip), timeout=20)
    assert statuses(db, skip) == {kyiv: ("UNAVAILABLE", "QUIET_HOURS"), ny: ("DELIVERED", None)}

    ignore = broadcast(http, msg, app, quietHoursPolicy="ignore")
    wait_for(lambda: broadcast_done(http, ignore), timeout=20)
    assert status_counts(db, ignore) == Counter({"DELIVERED": 2})

    defer = broadcast(http, msg, app)  # defer is the default
    wait_for(lambda: http.get(f"/v1/broadcast/{defer}").json()["waiting"] == 1, timeout=20)
    wait_for(lambda: statuses(db, defer)[ny] == ("DELIVERED", None), timeout=20)
    # Deferred to 08:00 Kyiv = 06:00 UTC next day.
    with db.read() as conn:
        from sqlalchemy import select

        from hushcast.delivery.models import deliveries

        at = conn.execute(
            select(deliveries.c.available_at).where(
                deliveries.c.broadcast_id == defer, deliveries.c.token == kyiv
            )
        ).scalar_one()
    assert at == DAY.replace(day=16, hour=6)
    clock.set(DAY.replace(day=16, hour=6, minute=1))
    wait_for(lambda: broadcast_done(http, defer), timeout=20)
    assert status_counts(db, defer) == Counter({"DELIVERED": 2})

    # A contact's own quiet hours override the organisation's.
    contact = set_zone(http, f"c-{ny}", "America/New_York")
    r = http.put(
        f"/v1/contact/{contact}/quiet-hours",
        json={"quietHours": {"start": "00:00", "end": "02:00"}},
    )
    assert r.status_code == 200
    clock.set(DAY.replace(day=17, hour=5, minute=30))  # 00:30 in New York, 07:30 in Kyiv
    both = broadcast(http, msg, app, quietHoursPolicy="skip")
    wait_for(lambda: broadcast_done(http, both), timeout=20)
    assert statuses(db, both) == {
        kyiv: ("UNAVAILABLE", "QUIET_HOURS"),
        ny: ("UNAVAILABLE", "QUIET_HOURS"),
    }


def test_local_time_send_reaches_each_zone_at_its_hour(
    live: LiveService, fake_telegram: Any, db: Any, clock: Clock
) -> None:
    kyiv, ny = "560001", "560002"
    clock.set(DAY.replace(hour=7, minute=0))  # 09:00 in Kyiv
    app = setup_bot(live, fake_telegram, [kyiv, ny])
    http = live.http
    set_zone(http, f"c-{kyiv}", "Europe/Kyiv")
    set_zone(http, f"c-{ny}", "America/New_York")
    bid = broadcast(
        http, create_message(http, "Morning"), app, localTime="10:00", localDate="2030-01-15"
    )
    wait_for(lambda: http.get(f"/v1/broadcast/{bid}").json()["waiting"] == 2, timeout=20)
    assert fake_telegram.messages() == []
    clock.set(DAY.replace(hour=8, minute=1))  # 10:01 in Kyiv, 03:01 in New York
    wait_for(lambda: statuses(db, bid)[kyiv] == ("DELIVERED", None), timeout=20)
    view = http.get(f"/v1/broadcast/{bid}").json()
    assert (view["status"], view["waiting"]) == ("RUNNING", 1)
    clock.set(DAY.replace(hour=15, minute=1))  # 10:01 in New York
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert sent_to(fake_telegram) == Counter([kyiv, ny])


def test_frequency_cap_across_two_broadcasts(
    live: LiveService, fake_telegram: Any, db: Any
) -> None:
    app = setup_bot(live, fake_telegram, ["570001", "570002"])
    http = live.http
    cap = {"frequencyCap": {"count": 1, "periodSeconds": 86400}}
    assert http.put(f"/v1/apps/{app}/policies", json=cap).status_code == 200
    msg = create_message(http, "Deal")
    first = broadcast(http, msg, app)
    wait_for(lambda: broadcast_done(http, first), timeout=20)
    assert status_counts(db, first) == Counter({"DELIVERED": 2})
    # Transactional sends are never capped and do not count.
    r = http.post(
        f"/v1/message/{msg}/smartsend", json={"appId": app, "recipients": [{"locator": "570001"}]}
    )
    assert r.json()["results"][0]["status"] == "OK"
    second = broadcast(http, msg, app)
    wait_for(lambda: broadcast_done(http, second), timeout=20)
    assert status_counts(db, second) == Counter({"UNAVAILABLE": 2})
    assert {e for _, e in statuses(db, second).values()} == {"FREQUENCY_CAP"}
    wait_for(lambda: len(fake_telegram.messages()) == 3)


def test_frequency_cap_counts_sends_still_in_flight(
    live: LiveService, fake_telegram: Any, db: Any
) -> None:
    """Two broadcasts to the same chats at once, cap 1: Telegram answers the first's
    sends after 2.5 s, so they are neither answered nor recorded when the second's rows
    (1 s later, the per-chat limit) are checked. Each chat still gets one message."""
    tokens = ["575001", "575002"]
    app = setup_bot(live, fake_telegram, tokens)
    http = live.http
    cap = {"frequencyCap": {"count": 1, "periodSeconds": 86400}}
    assert http.put(f"/v1/apps/{app}/policies", json=cap).status_code == 200
    fake_telegram.configure(latency_ms=2500)
    msg = create_message(http, "Deal")
    first, second = broadcast(http, msg, app), broadcast(http, msg, app)
    for bid in (first, second):
        wait_for(lambda bid=bid: broadcast_done(http, bid), timeout=30)
    assert sent_to(fake_telegram) == Counter(tokens)
    outcomes = Counter(statuses(db, first).values()) + Counter(statuses(db, second).values())
    assert outcomes == Counter({("DELIVERED", None): 2, ("UNAVAILABLE", "FREQUENCY_CAP"): 2})


def test_transactional_ignores_quiet_hours_unless_asked(
    live: LiveService, fake_telegram: Any, db: Any, clock: Clock
) -> None:
    clock.set(DAY.replace(hour=23, minute=0))  # 23:00 UTC: inside 22:00-08:00 UTC
    token = "580001"
    app = setup_bot(live, fake_telegram, [token])
    http = live.http
    quiet = {"quietHours": {"start": "22:00", "end": "08:00"}}
    assert http.put("/v1/policies", json=quiet).status_code == 200
    msg = create_message(http, "Code")

    def smartsend(**extra: Any) -> str:
        r = http.post(
            f"/v1/message/{msg}/smartsend",
            json={"appId": app, "recipients": [{"locator": token}], **extra},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["results"][0]["requestId"])

    def status(request_id: str) -> str:
        r = http.get("/v1/message/status", params={"ids": request_id})
        return str(r.json()["results"][0]["status"])

    plain = smartsend()
    wait_for(lambda: status(plain) == "DELIVERED", timeout=20)
    skipped = smartsend(quietHoursPolicy="skip")
    wait_for(lambda: status(skipped) == "UNAVAILABLE", timeout=20)
    deferred = smartsend(quietHoursPolicy="defer")
    wait_for(lambda: _row_status(db, deferred) == "WAITING", timeout=20)
    assert status(deferred) == "IN_QUEUE"
    clock.set(DAY.replace(day=16, hour=8, minute=1))
    wait_for(lambda: status(deferred) == "DELIVERED", timeout=20)
    assert len(fake_telegram.messages()) == 2
    bad = http.post(
        f"/v1/message/{msg}/smartsend",
        json={"appId": app, "recipients": [{"locator": token}], "quietHoursPolicy": "later"},
    )
    assert bad.status_code == 400


def _row_status(db: Any, request_id: str) -> str:
    from sqlalchemy import select

    from hushcast.delivery.models import deliveries

    with db.read() as conn:
        return str(
            conn.execute(
                select(deliveries.c.status).where(deliveries.c.request_id == request_id)
            ).scalar_one()
        )


def test_quiet_hours_over_the_dst_night_in_new_york(
    live: LiveService, fake_telegram: Any, db: Any, clock: Clock
) -> None:
    # 2031-03-09: New York springs forward (02:00 EST -> 03:00 EDT). At 23:00 EST on the
    # 8th (04:00 UTC) the recipient is in quiet hours until 08:00 EDT = 12:00 UTC (not 13:00).
    clock.set(datetime(2031, 3, 9, 4, 0))
    token = "590001"
    app = setup_bot(live, fake_telegram, [token])
    http = live.http
    set_zone(http, f"c-{token}", "America/New_York")
    quiet = {"quietHours": {"start": "22:00", "end": "08:00"}}
    assert http.put(f"/v1/apps/{app}/policies", json=quiet).status_code == 200
    bid = broadcast(http, create_message(http, "Spring"), app)
    wait_for(lambda: statuses(db, bid).get(token) == ("WAITING", None), timeout=20)
    assert _available_at(db, bid, token) == datetime(2031, 3, 9, 12, 0)
    clock.set(datetime(2031, 3, 9, 11, 59))  # 07:59 EDT: still quiet
    assert statuses(db, bid)[token] == ("WAITING", None)
    clock.set(datetime(2031, 3, 9, 12, 0, 30))
    wait_for(lambda: broadcast_done(http, bid), timeout=20)
    assert sent_to(fake_telegram) == Counter([token])


def _available_at(db: Any, broadcast_id: int, token: str) -> datetime:
    from sqlalchemy import select

    from hushcast.delivery.models import deliveries

    with db.read() as conn:
        value = conn.execute(
            select(deliveries.c.available_at).where(
                deliveries.c.broadcast_id == broadcast_id, deliveries.c.token == token
            )
        ).scalar_one()
    return value  # type: ignore[no-any-return]

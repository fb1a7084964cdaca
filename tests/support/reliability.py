"""Reliability helpers: delivery rows, a broadcast set up through the API, the SIGKILL loop
(also run at full size by ``scripts/soak_kill.py``)."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from hushcast.delivery.models import deliveries
from tests.support.processes import start_worker, stop
from tests.support.service import new_bot
from tests.support.waiting import wait_for


def lease_holder_pid(db: Any) -> int:
    """The pid of the worker holding the (only) bot's lease: ``host-pid-random``."""
    from hushcast.delivery.models import app_leases

    with db.read() as conn:
        worker_id = conn.execute(select(app_leases.c.worker_id)).scalar_one()
    return int(worker_id.rsplit("-", 2)[1])


def rows_of(db: Any, broadcast_id: int) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(
                    deliveries.c.token,
                    deliveries.c.status,
                    deliveries.c.error_type,
                    deliveries.c.error_name,
                    deliveries.c.description,
                    deliveries.c.finished_at,
                    deliveries.c.attempts,
                ).where(deliveries.c.broadcast_id == broadcast_id)
            )
        )


def final_tokens(db: Any, broadcast_id: int) -> set[str]:
    with db.read() as conn:
        return {
            r[0]
            for r in conn.execute(
                select(deliveries.c.token).where(
                    deliveries.c.broadcast_id == broadcast_id,
                    deliveries.c.finished_at.is_not(None),
                )
            )
        }


def count_status(db: Any, broadcast_id: int, status: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    deliveries.c.broadcast_id == broadcast_id, deliveries.c.status == status
                )
            ).scalar_one()
        )


def setup_broadcast(
    http: Any, fake: Any, tokens: list[str], *, paid: bool = False, **app_settings: Any
) -> tuple[str, int]:
    """Connects a bot, registers ``tokens``, creates a broadcast; returns (app uuid, id)."""
    r = http.post("/v1/apps", json={"botToken": new_bot(fake)})
    assert r.status_code == 201, r.text
    app_uuid = str(r.json()["appUuid"])
    patch = dict(app_settings)
    if paid:
        patch["paidBroadcast"] = True
    if patch:
        r = http.patch(f"/v1/apps/{app_uuid}", json=patch)
        assert r.status_code == 200, r.text
    for i in range(0, len(tokens), 10_000):
        items = [{"token": t, "externalCustomerId": f"c-{t}"} for t in tokens[i : i + 10_000]]
        r = http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
        assert r.status_code == 200, r.text
    r = http.post("/v1/messages/telegram", json={"name": "rel", "text": "Reliability check"})
    assert r.status_code == 200, r.text
    r = http.post("/v1/broadcast", json={"messageId": r.json()["id"], "appId": app_uuid})
    assert r.status_code == 200, r.text
    return app_uuid, int(r.json()["broadcastId"])


@dataclass
class KillReport:
    recipients: int
    kills: int
    seed: int
    sent_to_telegram: int = 0
    duplicates: int = 0
    duplicated_chats: int = 0
    windows: list[int] = field(default_factory=list)  # per kill: reached Telegram, not recorded
    sending_at_kill: list[int] = field(default_factory=list)  # per kill: rows left SENDING
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        w = self.windows
        return (
            f"{self.recipients} recipients, {self.kills} SIGKILLs (seed {self.seed}): "
            f"{self.sent_to_telegram} sends to Telegram, {self.duplicates} duplicates "
            f"({self.duplicated_chats} chats); duplicate window per kill "
            f"max {max(w) if w else 0}, mean {sum(w) / len(w) if w else 0:.1f}, "
            f"total {sum(w)}; rows SENDING at kill max "
            f"{max(self.sending_at_kill) if self.sending_at_kill else 0}; "
            f"outcomes {self.statuses}; {self.seconds:.1f} s"
        )


def kill_loop(
    http: Any,
    db: Any,
    db_url: str,
    fake: Any,
    *,
    recipients: int,
    kills: int,
    seed: int,
    max_delay: float = 0.3,
    lease_s: float = 1.5,
    progress: Callable[[str], None] | None = None,
) -> KillReport:
    """Runs one paid broadcast (1,000/s) through worker subprocesses killed with SIGKILL
    ``kills`` times at random moments, then lets a last worker finish it.

    After each kill it measures the duplicate window: chats that reached Telegram
    but whose row has no final outcome (they will be sent again)."""
    started = time.monotonic()
    rng = random.Random(seed)
    fake.configure(global_rate=5000, paid_rate=5000, latency_ms=50)
    tokens = [str(300_000_000 + i) for i in range(recipients)]
    _, bid = setup_broadcast(http, fake, tokens, paid=True)
    token_set = set(tokens)

    def received() -> list[str]:
        return [c for c in (str(m["chat_id"]) for m in fake.messages()) if c in token_set]

    report = KillReport(recipients, kills, seed)
    # Two workers run at all times (as in a deployment with several): the one
    # holding the bot's lease is killed, the other takes over once that lease runs
    # out, and a replacement is started meanwhile.
    workers = {p.pid: p for p in (start_worker(db_url, fake.base_url, lease_s=lease_s),)}
    spare = start_worker(db_url, fake.base_url, lease_s=lease_s)
    workers[spare.pid] = spare
    try:
        # Random moments spread over the broadcast: kill k comes once a random number
        # of chats (sorted) has been reached and the lease holder is sending.
        marks = sorted(rng.sample(range(1, int(recipients * 0.8)), kills))
        for k, mark in enumerate(marks):
            before = len(received())

            def due(b: int = before, m: int = mark) -> bool:
                got = received()
                return len(got) > b and len(set(got)) >= m

            wait_for(due, timeout=120, interval=0.02)
            holder = workers[lease_holder_pid(db)]
            time.sleep(rng.uniform(0.0, max_delay))
            stop(workers.pop(holder.pid), signal.SIGKILL)
            # Let requests in flight reach the fake and be answered (on a loaded
            # machine that can take longer than the fake's latency); the other worker
            # cannot take over before the dead one's lease (renewed every lease_s / 3)
            # has run out.
            time.sleep(0.15)
            wait_for(lambda: fake.stats()["in_flight"] == 0, timeout=10, interval=0.01)
            got = set(received())
            report.windows.append(len(got - final_tokens(db, bid)))
            report.sending_at_kill.append(count_status(db, bid, "SENDING"))
            if k < kills - 1:
                spare = start_worker(db_url, fake.base_url, lease_s=lease_s)
                workers[spare.pid] = spare
            if progress:
                progress(
                    f"kill {k + 1}/{kills}: {len(got)} chats reached, window {report.windows[-1]}"
                )
        wait_for(
            lambda: http.get(f"/v1/broadcast/{bid}").json()["status"] == "FINISHED",
            timeout=120,
            interval=0.1,
        )
    finally:
        codes = [stop(w, signal.SIGTERM) for w in workers.values()]
    assert codes == [0], codes  # the survivor stops gracefully

    rows = rows_of(db, bid)
    got_list = received()
    counts = Counter(got_list)
    report.sent_to_telegram = len(got_list)
    report.duplicates = len(got_list) - len(counts)
    report.duplicated_chats = sum(1 for n in counts.values() if n > 1)
    report.statuses = dict(Counter(r.status for r in rows))
    report.seconds = time.monotonic() - started

    # Exactly one row, with one final outcome, per recipient; none lost.
    assert len(rows) == recipients
    assert {r.token for r in rows} == token_set
    assert report.statuses == {"DELIVERED": recipients}, report.statuses
    assert all(r.finished_at is not None for r in rows)
    assert set(counts) == token_set
    # Only a send that reached Telegram but whose outcome was not yet recorded when
    # the worker died can be repeated: duplicates never exceed the windows measured.
    assert report.duplicates <= sum(report.windows), report.summary()
    return report

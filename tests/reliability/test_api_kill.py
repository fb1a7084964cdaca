"""The API process killed with SIGKILL during bulk token imports and bulk mutes.

Each request's rows are identifiable (token prefixes), so after the kills the
database must hold, for every request, either all of its items or none; and all
of them for every request that was answered 200.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter
from itertools import count
from typing import Any

import httpx
from sqlalchemy import func, select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.mute.models import mute_events, mutes
from tests.support.processes import (
    ensure_api,
    free_port,
    hushcast_command,
    spawn_api,
    stop,
    subprocess_env,
)
from tests.support.service import new_bot

IMPORT_SIZE = 10_000
MUTE_SIZE = 1_000


def prefix_counts(db: Any, column: Any, where: Any = None) -> Counter[str]:
    prefix = func.substr(column, 1, 5)
    stmt = select(prefix, func.count()).group_by(prefix)
    if where is not None:
        stmt = stmt.where(where)
    with db.read() as conn:
        return Counter({str(p): int(n) for p, n in conn.execute(stmt)})


def hammer_and_kill(
    app: str,
    auth: dict[str, str],
    apis: list[subprocess.Popen[bytes]],
    ports: list[int],
    kills: int,
    rng: random.Random,
) -> dict[str, int | str]:
    """Bulk imports and mutes from 4 threads; each round's API process is SIGKILLed."""
    imports = count()
    mutes_seq = count()
    answers: dict[str, int | str] = {}  # request id -> HTTP status or "no answer"
    lock = threading.Lock()

    def importer(stop_at: threading.Event, base: str) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            while not stop_at.is_set():
                k = next(imports)
                rid = f"6{k:04d}"
                items = [
                    {"token": f"{rid}{i:05d}", "externalCustomerId": f"{rid}-{i}"}
                    for i in range(IMPORT_SIZE)
                ]
                try:
                    status: int | str = http.post(
                        f"/v1/apps/{app}/tokens", json={"tokens": items}
                    ).status_code
                except httpx.HTTPError:
                    status = "no answer"
                with lock:
                    answers[rid] = status
                if status != 200:
                    return

    def muter(stop_at: threading.Event, base: str) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            while not stop_at.is_set():
                m = next(mutes_seq)
                rid = f"7{m:04d}"
                body = {"tokens": [f"{rid}{i:04d}" for i in range(MUTE_SIZE)], "duration": 600}
                try:
                    status: int | str = http.post(
                        f"/v1/apps/{app}/token/mute", json=body
                    ).status_code
                except httpx.HTTPError:
                    status = "no answer"
                with lock:
                    answers[rid] = status
                if status != 200:
                    return

    for round_no in range(kills):
        base = f"http://127.0.0.1:{ports[round_no]}"
        stop_at = threading.Event()
        threads = [
            threading.Thread(target=fn, args=(stop_at, base), daemon=True)
            for fn in (importer, importer, muter, muter)
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        stop(apis[round_no], signal.SIGKILL)
        stop_at.set()
        for t in threads:
            t.join(timeout=30)

    return answers


def test_sigkill_during_bulk_requests_applies_each_whole_or_not_at_all(
    fake_telegram: Any, db: Any, db_url: str
) -> None:
    rng = random.Random()
    kills = 3
    # Starting the service takes seconds on a busy machine: the processes that
    # replace each killed one are started up front, on ports of their own.
    ports = [free_port() for _ in range(kills + 1)]
    apis = [spawn_api(db_url, fake_telegram.base_url, p) for p in ports]
    try:
        key = subprocess.run(
            hushcast_command("keys", "create", "--org", "x"),
            env=subprocess_env(db_url, fake_telegram.base_url),
            capture_output=True,
            check=True,
            text=True,
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {key}"}
        for i in range(len(ports)):
            apis[i], ports[i] = ensure_api(apis[i], ports[i], db_url, fake_telegram.base_url)
        r = httpx.post(
            f"http://127.0.0.1:{ports[0]}/v1/apps",
            json={"botToken": new_bot(fake_telegram)},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        app = r.json()["appUuid"]
        answers = hammer_and_kill(app, auth, apis, ports, kills, rng)
        # The restarted service serves exactly what the database holds.
        total = httpx.get(
            f"http://127.0.0.1:{ports[-1]}/v1/apps/{app}/tokens", headers=auth, timeout=30
        ).headers["TotalCount"]
    finally:
        for proc in apis:
            stop(proc)

    tokens = prefix_counts(db, app_tokens.c.token)
    assert int(total) == sum(tokens.values())
    tokens = prefix_counts(db, app_tokens.c.token)
    contact_rows = prefix_counts(db, contacts.c.external_customer_id)
    muted = prefix_counts(db, mutes.c.token)
    events = prefix_counts(db, mute_events.c.token, mute_events.c.action == "mute")
    outcome: Counter[str] = Counter()
    for rid, status in sorted(answers.items()):
        size = IMPORT_SIZE if rid.startswith("6") else MUTE_SIZE
        stored = (
            (tokens[rid], contact_rows[rid]) if rid.startswith("6") else (muted[rid], events[rid])
        )
        assert stored in ((0, 0), (size, size)), (rid, status, stored)
        if status == 200:
            assert stored == (size, size), (rid, stored)
        outcome[f"{status}/{'all' if stored[0] else 'none'}"] += 1
    # No row belongs to a request that was never made.
    assert set(tokens) | set(muted) <= set(answers)
    # The kills did cut requests short.
    assert sum(1 for s in answers.values() if s == "no answer") >= kills, answers
    print(f"\n{kills} kills, {len(answers)} bulk requests: {dict(outcome)}")

"""PostgreSQL restarted mid-broadcast: the API answers 503 while it is down, the worker
reconnects and goes on, nothing is lost.

Restarts the real local server (``pg_ctlcluster``, as root); other test runs against
the same server at that moment see a 3 s outage. Skipped where that is not possible,
or with HUSHCAST_SKIP_PG_RESTART=1 (e.g. when several people share one server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hushcast.core.config import Settings
from tests.support.db import PG_ADMIN_URL
from tests.support.reliability import rows_of, setup_broadcast
from tests.support.service import LiveService
from tests.support.waiting import wait_for

CLUSTERS = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
CAN_RESTART = (
    shutil.which("pg_ctlcluster") is not None
    and len(CLUSTERS) == 1
    and os.geteuid() == 0
    and "127.0.0.1:5432" in PG_ADMIN_URL
    and os.environ.get("HUSHCAST_SKIP_PG_RESTART") != "1"
)


def pg_ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", CLUSTERS[0], "main", action],
        check=True,
        capture_output=True,
        timeout=60,
    )


def pg_ready() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.serial  # restarts the server every other test process is using
@pytest.mark.postgres
@pytest.mark.skipif(
    not CAN_RESTART,
    reason="needs root and the local PostgreSQL cluster (and no HUSHCAST_SKIP_PG_RESTART=1)",
)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_restart_mid_broadcast(
    settings: Settings, db: Any, api_key: str, fake_telegram: Any
) -> None:
    fake_telegram.configure(global_rate=5000, latency_ms=20)
    live = LiveService(
        settings.model_copy(update={"worker_poll_s": 0.05, "worker_lease_s": 5.0}), db, api_key
    )
    try:
        tokens = [str(900_000_000 + i) for i in range(2_000)]
        _, bid = setup_broadcast(live.http, fake_telegram, tokens, messagesPerSecond=300)
        wait_for(lambda: len(fake_telegram.messages()) >= 300, timeout=30)
        down: list[Any] = []
        try:
            pg_ctl("stop")
            stopped_at = time.monotonic()
            while time.monotonic() - stopped_at < 3:
                down.append(live.http.get("/v1/apps"))
                time.sleep(0.3)
        finally:
            pg_ctl("start")
            wait_for(pg_ready, timeout=60, interval=0.2)
        sent_while_down = len(fake_telegram.messages())
        report = wait_for(
            lambda: (
                (b := live.http.get(f"/v1/broadcast/{bid}")).status_code == 200
                and b.json()["status"] == "FINISHED"
                and b.json()
            ),
            timeout=60,
            interval=0.2,
        )
    finally:
        live.stop()

    assert len(down) >= 5
    for r in down:
        assert r.status_code == 503, (r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 503 and r.json()["detail"]
    rows = rows_of(db, bid)
    assert len(rows) == len(tokens)
    assert Counter(r.status for r in rows) == {"DELIVERED": len(tokens)}
    assert report["delivered"] == len(tokens)
    received = Counter(str(m["chat_id"]) for m in fake_telegram.messages())
    assert set(received) == set(tokens)
    duplicates = sum(received.values()) - len(received)
    # Sends in flight when the database went away are answered and their outcomes
    # kept until it is back: nothing needs sending twice.
    assert duplicates == 0, duplicates
    print(
        f"\n{len(down)} requests answered 503 while PostgreSQL was down; "
        f"{sent_while_down} of {len(tokens)} sent before it was back; {duplicates} duplicates"
    )

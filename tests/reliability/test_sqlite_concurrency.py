"""SQLite: API writers in two processes and two workers never fail with "database is locked"."""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from hushcast.core.config import Settings
from tests.support.processes import free_port, spawn_api, start_worker, stop, wait_api
from tests.support.reliability import rows_of, setup_broadcast
from tests.support.service import LiveService
from tests.support.waiting import wait_for


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_concurrent_writers_and_workers_never_hit_database_is_locked(
    settings: Settings,
    db: Any,
    db_url: str,
    api_key: str,
    fake_telegram: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    fake_telegram.configure(global_rate=5000, paid_rate=5000, latency_ms=20)
    port = free_port()
    api_log = open(tmp_path / "api.log", "wb")  # noqa: SIM115
    worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    api = spawn_api(db_url, fake_telegram.base_url, port, log=api_log)
    # A second worker competes for the bot's lease (a write every 50 ms).
    worker = start_worker(db_url, fake_telegram.base_url, lease_s=5, log=worker_log)
    live = LiveService(settings.model_copy(update={"worker_poll_s": 0.05}), db, api_key)
    try:
        tokens = [str(800_000_000 + i) for i in range(3_000)]
        app_uuid, bid = setup_broadcast(live.http, fake_telegram, tokens, paid=True)
        wait_api(port)
        done = threading.Event()
        answers: Counter[int] = Counter()
        failures: list[str] = []
        seq = count()

        def writer(base: str, kind: int) -> None:
            with httpx.Client(base_url=base, headers=live.http.headers, timeout=60) as http:
                while not done.is_set():
                    n = next(seq)
                    if kind == 0:
                        body: Any = {"tokens": tokens[n % 30 * 100 : n % 30 * 100 + 100]}
                        r = http.post(
                            f"/v1/apps/{app_uuid}/token/mute", json=body | {"duration": 5}
                        )
                    elif kind == 1:
                        r = http.post(
                            f"/v1/apps/{app_uuid}/token/unmute", json={"token": tokens[n % 3000]}
                        )
                    elif kind == 2:
                        items = [
                            {"token": f"9{n:05d}{i:03d}", "externalCustomerId": f"w{n}-{i}"}
                            for i in range(500)
                        ]
                        r = http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
                    else:
                        r = http.post(
                            "/v1/contact",
                            json={
                                "externalCustomerId": f"c-{tokens[n % 3000]}",
                                "firstName": f"N{n}",
                            },
                        )
                    answers[r.status_code] += 1
                    if r.status_code >= 300:
                        failures.append(f"{r.status_code} {r.text[:200]}")

        bases = [live.base_url, f"http://127.0.0.1:{port}"]
        threads = [
            threading.Thread(target=writer, args=(bases[i % 2], i % 4), daemon=True)
            for i in range(8)
        ]
        for t in threads:
            t.start()
        try:
            # The writers go on until the broadcast finished and they made enough writes
            # to matter: on a fast machine the broadcast alone can finish within a second
            # (CI once counted 35 writes by then); the workers' lease writes go on after.
            wait_for(
                lambda: (
                    sum(answers.values()) >= 60
                    and live.http.get(f"/v1/broadcast/{bid}").json()["status"] == "FINISHED"
                ),
                timeout=90,
                interval=0.1,
            )
        finally:
            done.set()
            for t in threads:
                t.join(timeout=60)
    finally:
        stop(worker, signal.SIGTERM)
        stop(api, signal.SIGTERM)
        live.stop()
        api_log.close()
        worker_log.close()

    assert not failures, failures[:5]
    logs = (tmp_path / "api.log").read_text() + (tmp_path / "worker.log").read_text()
    logs += "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "locked" not in logs, logs[-3000:]
    rows = rows_of(db, bid)
    assert len(rows) == len(tokens) and all(r.finished_at is not None for r in rows)
    print(f"\n{sum(answers.values())} API writes {dict(answers)} while the workers ran")

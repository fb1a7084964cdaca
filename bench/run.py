"""Hushcast benchmarks: every hot path against its limit, side by side in one run.

``python bench/run.py`` (``make bench``) or ``python bench/run.py --quick`` (``make bench-quick``).
Prints a table, writes ``bench/results.json`` and rewrites the generated part of
BENCHMARKS.md. Raw outputs (process logs, wrk output) go to ``bench/out/``.

Every service runs as its own process: the fake Telegram server
(``python -m hushcast.telegram.fake_server``), the API (``hushcast serve --no-worker``)
and the worker (``hushcast worker``). Every speed is also given as a ratio to a
baseline measured in the same run, because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import DateTime, Engine, bindparam, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
# The process spawning and waiting helpers are the tests' (tests/support).
sys.path.insert(0, str(ROOT))

from tests.support.processes import (  # noqa: E402
    api_command,
    fake_server_command,
    free_port,
    hushcast_command,
    worker_command,
)
from tests.support.waiting import wait_for  # noqa: E402

# HUSHCAST_BENCH_OUT puts raw outputs and results.json elsewhere (and leaves
# BENCHMARKS.md alone), so two runs on one machine do not share files.
OUT = Path(os.environ.get("HUSHCAST_BENCH_OUT", ROOT / "bench" / "out"))
RESULTS = (
    OUT / "results.json" if "HUSHCAST_BENCH_OUT" in os.environ else ROOT / "bench" / "results.json"
)
PG_ADMIN = os.environ.get("HUSHCAST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
FOREVER = datetime(9999, 12, 31, 23, 59, 59)
CLK_TCK = os.sysconf("SC_CLK_TCK")

TARGETS: dict[str, tuple[str, float]] = {
    "mute_vs_noop_ratio_sqlite": (">=", 0.5),
    "mute_vs_noop_ratio_postgres": (">=", 0.5),
    "mute_p99_ms_sqlite": ("<=", 20.0),
    "mute_p99_ms_postgres": ("<=", 20.0),
    "bulk_mute_10k_s": ("<=", 1.0),
    "plan_vs_insert_ratio": ("<=", 1.5),
    "plan_rss_growth_mb": ("<=", 100.0),
    "free_rate_fraction": (">=", 0.98),
    "paid_rate_fraction": (">=", 0.98),
    "rate_429_count": ("<=", 0.0),
    "paid_429_pause_fraction": ("<=", 0.02),
    "worker_msgs_per_s": (">=", 2000.0),
    "worker_vs_bare_ratio": (">=", 0.7),
    "mute_leak_count": ("<=", 0.0),
    "worker_peak_rss_mb": ("<=", 150.0),
    "realistic_rate_fraction": (">=", 0.98),
    "realistic_429_per_100k": ("<=", 1.0),
    "realistic_429_pause_fraction": ("<=", 0.02),
    "leak_through_migration_retry": ("<=", 0.0),
}
KEY_ORDER = [
    "mute_rps_sqlite",
    "mute_rps_postgres",
    "mute_vs_noop_ratio_sqlite",
    "mute_vs_noop_ratio_postgres",
    "mute_p99_ms_sqlite",
    "mute_p99_ms_postgres",
    "bulk_mute_10k_s",
    "plan_1m_s",
    "plan_vs_insert_ratio",
    "plan_rss_growth_mb",
    "free_rate_fraction",
    "paid_rate_fraction",
    "rate_429_count",
    "paid_429_pause_fraction",
    "worker_msgs_per_s",
    "worker_vs_bare_ratio",
    "mute_leak_count",
    "worker_peak_rss_mb",
    "realistic_rate_fraction",
    "realistic_429_per_100k",
    "realistic_429_pause_fraction",
    "leak_through_migration_retry",
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes ---------------------------------------------------------------------------


def proc_status(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field (VmRSS, VmHWM) in MB; 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK_TCK
    except OSError:
        return 0.0


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.logfile = open(OUT / f"{name}.log", "ab")  # noqa: SIM115
        self.logfile.write(f"\n=== {datetime.now().isoformat()} {' '.join(args)}\n".encode())
        self.logfile.flush()
        self.p = subprocess.Popen(
            args, env=env, stdout=self.logfile, stderr=subprocess.STDOUT, cwd=ROOT
        )

    @property
    def pid(self) -> int:
        return self.p.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logfile.close()


class RssSampler:
    """Samples a process's VmRSS every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), proc_status(self.pid, "VmRSS")))
            self._stop.wait(self.interval)

    def peak(self, since: float = 0.0, until: float = float("inf")) -> float:
        values = [v for t, v in self.samples if since <= t <= until]
        return max(values) if values else 0.0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# -- databases ----------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def sa_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Stack:
    """One database with the fake Telegram server, an API process and (when asked) a worker."""

    def __init__(self, kind: str, tag: str) -> None:
        self.kind = kind
        self.tag = tag
        if kind == "postgres":
            self.pg_name = f"hushcast_bench_{tag}_{os.getpid()}"
            pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            self.url = f"{PG_ADMIN}/{self.pg_name}"
        else:
            path = OUT / f"bench_{tag}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.url = f"sqlite:///{path}"
        self.fake_port = free_port()
        self.api_port = free_port()
        self.fake_url = f"http://127.0.0.1:{self.fake_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.env = dict(os.environ)
        self.env.update(
            HUSHCAST_DATABASE_URL=self.url,
            HUSHCAST_TELEGRAM_API_URL=self.fake_url,
            # Raised above the load for the benchmark (the default is 200/s per key).
            HUSHCAST_RATE_LIMIT_PER_KEY="100000000",
            HUSHCAST_CLICK_TRACKING="false",
            PYTHONUNBUFFERED="1",
        )
        self.fake = Proc(
            f"fake_{tag}",
            fake_server_command(self.fake_port, accept_any_token=True),
            self.env,
        )
        self.key = subprocess.run(
            hushcast_command("keys", "create", "--org", "bench"),
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        self.api = Proc(
            f"api_{tag}",
            api_command(self.api_port),
            self.env,
        )
        self.http = httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120
        )
        self.fake_http = httpx.Client(base_url=self.fake_url, timeout=120)
        wait_for(self._api_up, 60, 0.2)
        wait_for(self._fake_up, 60, 0.2)
        self.engine: Engine = create_engine(sa_url(self.url), pool_size=2)
        self.worker: Proc | None = None
        self.bots = 0

    def _api_up(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def _fake_up(self) -> bool:
        try:
            return self.fake_http.get("/_fake/stats").status_code == 200
        except httpx.HTTPError:
            return False

    # worker
    def start_worker(self, **env: str) -> Proc:
        self.stop_worker()
        worker_env = dict(self.env)
        worker_env.update(env)
        self.worker = Proc(f"worker_{self.tag}", worker_command(), worker_env)
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop(60)
            self.worker = None

    def close(self) -> None:
        self.stop_worker()
        self.http.close()
        self.fake_http.close()
        self.api.stop()
        self.fake.stop()
        self.engine.dispose()
        if self.kind == "postgres":
            pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    # fake telegram
    def fake_config(self, **changes: Any) -> None:
        self.fake_http.patch("/_fake/config", json=changes).raise_for_status()

    def fake_clear(self) -> None:
        self.fake_http.delete("/_fake/messages").raise_for_status()

    def fake_stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.fake_http.get("/_fake/stats").json()
        return stats

    # API objects
    def create_app(self, name: str) -> tuple[str, int, int]:
        self.bots += 1
        bot_id = 700_000 + self.bots
        r = self.http.post("/v1/apps", json={"botToken": f"{bot_id}:bench-{name}", "name": name})
        r.raise_for_status()
        uuid = r.json()["appUuid"]
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, organization_id FROM apps WHERE uuid = :u"), {"u": uuid}
            ).one()
        return uuid, int(row[0]), int(row[1])

    def create_message(self) -> int:
        r = self.http.post(
            "/v1/messages/telegram",
            json={"name": "bench", "text": "Hello %FIRSTNAME|there%, this is the bench broadcast."},
        )
        r.raise_for_status()
        return int(r.json()["id"])

    def load_tokens(self, org_id: int, app_id: int, n: int, muted_every: int = 0) -> None:
        """n contacts with one token each, by set-based SQL (not through the API)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        times = [bindparam("now", type_=DateTime()), bindparam("forever", type_=DateTime())]
        params = {"org": org_id, "app": app_id, "n": n, "now": now, "forever": FOREVER}
        with self.engine.begin() as conn:
            before = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM contacts")).scalar_one()
            params["before"] = before
            params["base"] = app_id * 10_000_000_000
            if self.kind == "postgres":
                ins = (
                    "INSERT INTO contacts (organization_id, external_customer_id, first_name,"
                    " created_at, updated_at) SELECT :org, 'b' || :app || '-' || g, 'User' || g, :now,"
                    " :now FROM generate_series(1, :n) g"
                )
            else:
                ins = (
                    "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n)"
                    " INSERT INTO contacts (organization_id, external_customer_id, first_name,"
                    " created_at, updated_at) SELECT :org, 'b' || :app || '-' || g, 'User' || g, :now,"
                    " :now FROM s"
                )
            conn.execute(text(ins).bindparams(*times[:1]), params)
            conn.execute(
                text(
                    "INSERT INTO app_tokens (app_id, contact_id, token, active, created_at)"
                    " SELECT :app, id, CAST(:base + id AS VARCHAR), TRUE, :now FROM contacts"
                    " WHERE id > :before ORDER BY id"
                ).bindparams(*times[:1]),
                params,
            )
            if muted_every:
                conn.execute(
                    text(
                        "INSERT INTO mutes (app_id, token, muted_until, updated_at)"
                        " SELECT app_id, token, :forever, :now FROM app_tokens"
                        f" WHERE app_id = :app AND id % {int(muted_every)} = 0"
                    ).bindparams(*times),
                    params,
                )
        self.analyze()

    def analyze(self) -> None:
        if self.kind == "postgres":
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with self.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            # An empty WAL, so neither timed insert pays for checkpointing earlier writes.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def broadcast(self, app_uuid: str, message_id: int) -> int:
        r = self.http.post("/v1/broadcast", json={"messageId": message_id, "appId": app_uuid})
        r.raise_for_status()
        return int(r.json()["broadcastId"])

    def cancel(self, broadcast_id: int) -> None:
        self.http.delete(f"/v1/broadcast/{broadcast_id}")


# -- 1. mute API --------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    stack: Stack, script: str, duration: float, args: list[str], label: str
) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = cpu_seconds(stack.api.pid)
    cmd = [
        "wrk",
        "-t2",
        "-c64",
        f"-d{int(duration)}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / script),
        stack.api_url,
        "--",
        *args,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = cpu_seconds(stack.api.pid) - server_cpu
    (OUT / f"wrk_{label}.txt").write_text(" ".join(cmd[: -len(args)]) + "\n" + out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    m = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p50 = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
        # The load generator must not be the bottleneck: its CPU against the server's.
        "wrk_cpu_pct": round(100 * wrk_cpu / duration, 1),
        "server_cpu_pct": round(100 * server_cpu / duration, 1),
    }


def bench_mute(stack: Stack, duration: float, results: dict[str, Any], details: dict) -> None:
    uuid, _, _ = stack.create_app("mute")
    path = f"/v1/apps/{uuid}/token/mute"
    log(f"{stack.kind}: mute API, wrk 64 connections, {duration:.0f} s each")
    warm = 1.0 if duration < 10 else 2.0
    run_wrk(stack, "ping.lua", warm, [stack.key], f"warm_ping_{stack.kind}")
    run_wrk(stack, "mute.lua", warm, [stack.key, path], f"warm_mute_{stack.kind}")
    ping = run_wrk(stack, "ping.lua", duration, [stack.key], f"ping_{stack.kind}")
    mute = run_wrk(stack, "mute.lua", duration, [stack.key, path], f"mute_{stack.kind}")
    results[f"mute_rps_{stack.kind}"] = round(mute["rps"], 1)
    results[f"mute_vs_noop_ratio_{stack.kind}"] = round(mute["rps"] / ping["rps"], 3)
    results[f"mute_p99_ms_{stack.kind}"] = round(mute["p99_ms"], 2)
    details[f"mute_{stack.kind}"] = {"noop": ping, "mute": mute, "duration_s": duration}
    log(f"  noop {ping['rps']:.0f} rps p99 {ping['p99_ms']:.1f} ms; mute {mute['rps']:.0f} rps")

    # Bulk: 10,000 tokens, 1,000 per request, one after another.
    body_tokens = [[f"5{i:09d}" for i in range(k * 1000, (k + 1) * 1000)] for k in range(10)]
    stack.http.post(path, json={"tokens": ["1"], "duration": 600}).raise_for_status()
    start = time.perf_counter()
    for tokens in body_tokens:
        stack.http.post(path, json={"tokens": tokens, "duration": 600}).raise_for_status()
    bulk = time.perf_counter() - start
    details[f"bulk_mute_10k_s_{stack.kind}"] = round(bulk, 3)
    log(f"  bulk mute 10k: {bulk:.3f} s")


# -- 2. planning, 3b/5/6. paid sending, leak, memory ---------------------------------------

BASELINE_INSERT = (
    "INSERT INTO deliveries (organization_id, app_id, broadcast_id, message_id, kind, priority,"
    " token, contact_id, status, error_type, error_name, attempts, available_at, created_at,"
    " finished_at) SELECT :org, app_id, :bid, :msg, 'broadcast', 1, token, contact_id,"
    " CASE WHEN active THEN 'IN_QUEUE' ELSE 'UNAVAILABLE' END, NULL, NULL, 0, :now, :now, NULL"
    " FROM app_tokens WHERE app_id = :app"
)


def measure_rate(
    stack: Stack,
    warmup: float,
    window: float,
    during: Callable[[], None] | None = None,
    counter: str = "accepted",
) -> dict[str, Any]:
    """Messages/s the fake accepted over ``window`` s, after the first send and ``warmup`` s
    (``counter="requests"``: every request it got, faults and 429s included), and the
    worker's CPU time per 1,000 of them (less noisy than the rate on a shared machine)."""
    wait_for(lambda: stack.fake_stats()["accepted"] > 0, 600, 0.02)
    time.sleep(warmup)
    pid = stack.worker.pid if stack.worker is not None else None
    cpu0 = cpu_seconds(pid) if pid else 0.0
    s0, t0 = stack.fake_stats(), time.monotonic()
    if during is not None:
        threading.Timer(min(3.0, window / 3), during).start()
    time.sleep(window)
    s1, t1 = stack.fake_stats(), time.monotonic()
    cpu = cpu_seconds(pid) - cpu0 if pid else 0.0
    counted = s1[counter] - s0[counter]
    return {
        "rate": counted / (t1 - t0),
        "counter": counter,
        "window_s": round(t1 - t0, 2),
        "accepted": s1["accepted"] - s0["accepted"],
        "requests": s1["requests"] - s0["requests"],
        "rate_limited": s1["rate_limited"],
        "worker_cpu_ms_per_1000": round(1e6 * cpu / counted, 1) if pid and counted else None,
    }


def bench_plan_and_send(
    stack: Stack, n: int, window: float, results: dict[str, Any], details: dict
) -> None:
    uuid, app_id, org_id = stack.create_app("paid")
    message_id = stack.create_message()
    # Nearly no sending while planning is measured.
    stack.http.patch(f"/v1/apps/{uuid}", json={"messagesPerSecond": 1}).raise_for_status()
    log(f"{stack.kind}: loading {n:,} tokens (10% muted)")
    t = time.perf_counter()
    stack.load_tokens(org_id, app_id, n, muted_every=10)
    log(f"  loaded in {time.perf_counter() - t:.1f} s")

    # Baseline: the bare INSERT ... SELECT of the same rows (for a broadcast scheduled
    # next year, so they land in the same indexes as planned rows), then gone again.
    r = stack.http.post(
        "/v1/broadcast",
        json={"messageId": message_id, "appId": uuid, "startDate": "2099-01-01T00:00"},
    )
    r.raise_for_status()
    baseline_bid = int(r.json()["broadcastId"])
    stack.analyze()  # the same starting state as the planner gets below
    now = datetime.now(UTC).replace(tzinfo=None)
    t = time.perf_counter()
    with stack.engine.begin() as conn:
        conn.execute(
            text(BASELINE_INSERT).bindparams(bindparam("now", type_=DateTime())),
            {"org": org_id, "msg": message_id, "app": app_id, "now": now, "bid": baseline_bid},
        )
    insert_s = time.perf_counter() - t
    with stack.engine.begin() as conn:
        others = conn.execute(
            text("SELECT COUNT(*) FROM deliveries WHERE broadcast_id <> :b"), {"b": baseline_bid}
        ).scalar_one()
        # Back to the state the baseline started from. A DELETE is not that: its dead
        # index pages stay, and the planner measured 5-10 % slower after one than
        # after a TRUNCATE (1,000,000 on PostgreSQL, round 8). Nothing else is in the
        # table at this point of the run; if something were, it would stay.
        if others == 0:
            conn.execute(
                text("DELETE FROM deliveries" if stack.kind == "sqlite" else "TRUNCATE deliveries")
            )
        else:
            conn.execute(
                text("DELETE FROM deliveries WHERE broadcast_id = :b"), {"b": baseline_bid}
            )
    stack.cancel(baseline_bid)
    stack.analyze()
    log(f"  bare INSERT ... SELECT of {n:,} rows: {insert_s:.2f} s")

    worker = stack.start_worker()
    time.sleep(2.0)  # started, migrated, idle
    rss = RssSampler(worker.pid)
    time.sleep(1.0)
    rss_before = proc_status(worker.pid, "VmRSS")
    t0 = time.monotonic()
    bid = stack.broadcast(uuid, message_id)
    # Polled every 5 ms (planned_at is set in the commit of the last batch).
    wait_for(
        lambda: stack.scalar("SELECT planned_at FROM broadcasts WHERE id = :b", b=bid), 3600, 0.005
    )
    plan_s = time.monotonic() - t0
    time.sleep(0.5)
    queued = stack.scalar("SELECT COUNT(*) FROM deliveries WHERE broadcast_id = :b", b=bid)
    plan_peak = rss.peak(t0, time.monotonic())
    rss.stop()
    results["plan_1m_s"] = round(plan_s, 2)
    results["plan_vs_insert_ratio"] = round(plan_s / insert_s, 3)
    results["plan_rss_growth_mb"] = round(plan_peak - rss_before, 1)
    details["plan"] = {
        "db": stack.kind,
        "recipients": n,
        "queued": queued,
        "insert_select_s": round(insert_s, 3),
        "plan_s": round(plan_s, 3),
        "worker_rss_before_mb": round(rss_before, 1),
        "worker_rss_peak_mb": round(plan_peak, 1),
    }
    log(
        f"  planned in {plan_s:.2f} s (queued {queued:,}); worker RSS +{plan_peak - rss_before:.1f} MB"
    )

    # Sending it at the paid rate, 100 ms latency: rate, mute leak, worker memory.
    stack.stop_worker()
    stack.http.patch(
        f"/v1/apps/{uuid}",
        json={"paidBroadcast": True, "paidMessagesPerSecond": 1000, "messagesPerSecond": 30},
    ).raise_for_status()
    # A 429 asks for 10 s, as the target says (Telegram's are often longer).
    stack.fake_config(enforce_limits=True, latency_ms=100, max_messages=300_000, retry_after=10)
    stack.fake_clear()
    worker = stack.start_worker()
    rss = RssSampler(worker.pid, 0.2)
    leak: dict[str, Any] = {}

    def mute_some() -> None:
        try:
            leak.update(mute_during_broadcast(stack, uuid, bid))
        except Exception as exc:  # reported, not fatal
            leak["error"] = repr(exc)

    log(f"{stack.kind}: sending {n:,} at the paid rate (1000/s, 100 ms latency)")
    wait_for(lambda: stack.fake_stats()["accepted"] > 0, 600, 0.02)
    t_first = time.monotonic()
    rate = measure_rate(stack, 2.0, window, mute_some)
    results["paid_rate_fraction"] = round(rate["rate"] / 1000.0, 4)
    log(
        f"  paid rate {rate['rate']:.1f}/s over {rate['window_s']} s;"
        f" worker CPU {rate['worker_cpu_ms_per_1000']} ms per 1,000"
    )
    wait_for(lambda: "t_response" in leak or "error" in leak, 60, 0.1)
    if "error" not in leak:
        finish_leak_check(stack, bid, leak)
    results["mute_leak_count"] = leak.get("leaked", -1)
    log(f"  mute leak: {leak}")

    deadline = n / 500 + 300  # generous: 429 pauses slow the whole send
    wait_for(
        lambda: stack.scalar("SELECT status FROM broadcasts WHERE id = :b", b=bid) == "FINISHED",
        deadline,
        1.0,
    )
    send_s = time.monotonic() - t_first
    hwm = proc_status(worker.pid, "VmHWM")
    rss.stop()
    stats = stack.fake_stats()
    # Time lost to 429 pauses, an upper bound: each 429 as a whole 10 s pause, none
    # overlapping (a burst of them is one pause in fact).
    results["paid_429_pause_fraction"] = round(min(1.0, stats["rate_limited"] * 10.0 / send_s), 4)
    send_peak = rss.peak()
    results["worker_peak_rss_mb"] = round(max(send_peak, plan_peak, hwm), 1)
    counts = {}
    with stack.engine.connect() as conn:
        for status, name, count in conn.execute(
            text(
                "SELECT status, COALESCE(error_name, ''), COUNT(*) FROM deliveries"
                " WHERE broadcast_id = :b GROUP BY 1, 2"
            ),
            {"b": bid},
        ):
            counts[f"{status} {name}".strip()] = count
    details["paid"] = {
        "db": stack.kind,
        "recipients": n,
        "rate": rate,
        "fake_stats": stats,
        "send_s": round(send_s, 2),
        "outcomes": counts,
        "worker_rss_peak_sampled_mb": round(send_peak, 1),
        "worker_vmhwm_mb": round(hwm, 1),
        "leak": leak,
    }
    details["rate_429_paid"] = stats["rate_limited"]
    log(
        f"  finished in {send_s:.1f} s; 429s {stats['rate_limited']}; worker peak RSS"
        f" {results['worker_peak_rss_mb']} MB; outcomes {counts}"
    )
    stack.stop_worker()
    stack.fake_config(retry_after=None)


def mute_during_broadcast(stack: Stack, uuid: str, bid: int) -> dict[str, Any]:
    """Mutes the next 100 queued (not yet claimed) chats of the running broadcast, and the
    100 chats claimed last (SENDING: in the worker's buffer, being checked or in flight),
    the ones a check made before the mute could let through."""
    with stack.engine.connect() as conn:
        tokens = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT token FROM deliveries WHERE broadcast_id = :b AND status = 'IN_QUEUE'"
                    " ORDER BY id LIMIT 100"
                ),
                {"b": bid},
            )
        ]
        claimed = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT token FROM deliveries WHERE broadcast_id = :b AND status = 'SENDING'"
                    " ORDER BY id DESC LIMIT 100"
                ),
                {"b": bid},
            )
        ]
        tokens += claimed
        sending = conn.execute(
            text("SELECT COUNT(*) FROM deliveries WHERE broadcast_id = :b AND status = 'SENDING'"),
            {"b": bid},
        ).scalar_one()
    t_request = time.time()
    r = stack.http.post(f"/v1/apps/{uuid}/token/mute", json={"tokens": tokens})
    t_response = time.time()
    r.raise_for_status()
    return {
        "tokens": tokens,
        "t_request": t_request,
        "mute_call_s": round(t_response - t_request, 4),
        "t_response": t_response,
        "claimed_at_mute": int(sending),
        "claimed_muted": len(claimed),
    }


def finish_leak_check(stack: Stack, bid: int, leak: dict[str, Any]) -> None:
    tokens = leak.pop("tokens")
    params = {"b": bid, **{f"t{i}": t for i, t in enumerate(tokens)}}
    marks = ", ".join(f":t{i}" for i in range(len(tokens)))

    def done() -> bool:
        pending = stack.scalar(
            "SELECT COUNT(*) FROM deliveries WHERE broadcast_id = :b AND status IN"
            f" ('IN_QUEUE', 'SENDING') AND token IN ({marks})",
            **params,
        )
        return int(pending) == 0

    wait_for(done, 300, 0.2)
    muted = stack.scalar(
        "SELECT COUNT(*) FROM deliveries WHERE broadcast_id = :b AND error_name ="
        f" 'CHANNEL_WAS_MUTED' AND token IN ({marks})",
        **params,
    )
    leaked = 0
    arrivals: list[float] = []
    answered_after = 0
    reached = 0
    for token in tokens:
        msgs = stack.fake_http.get("/_fake/messages", params={"chat_id": token}).json()
        reached += len(msgs)
        # A leak is a request that *arrived* after the mute answered. (Until round 3 the
        # answer's time was used, 100 ms of latency later: sends that arrived before the
        # mute answered counted as leaks. Kept beside it for comparison.)
        leaked += sum(1 for m in msgs if m["arrival_wall_time"] > leak["t_response"])
        arrivals.extend(m["arrival_wall_time"] - leak["t_request"] for m in msgs)
        answered_after += sum(1 for m in msgs if m["completed_wall_time"] > leak["t_response"])
    arrivals.sort()
    leak.update(
        # Arrival of each send that reached a muted chat, in seconds after the mute call
        # was made (negative: before it): first, median and last.
        arrival_after_request_s=[round(arrivals[i], 3) for i in (0, len(arrivals) // 2, -1)]
        if arrivals
        else [],
        leaked=leaked,
        answered_after_mute=answered_after,
        reached_total=reached,
        muted_outcomes=int(muted),
        # Could be in flight at the mute: requests in the air (rate x latency) plus
        # rows already claimed by the worker (they are checked again before sending).
        in_flight_estimate=int(1000 * 0.1) + leak["claimed_at_mute"],
    )


# -- 3a. free tier --------------------------------------------------------------------------


def bench_free(stack: Stack, window: float, results: dict[str, Any], details: dict) -> None:
    uuid, app_id, org_id = stack.create_app("free")
    message_id = stack.create_message()
    stack.load_tokens(org_id, app_id, int(30 * (window + 10)))
    stack.fake_config(enforce_limits=True, latency_ms=0)
    stack.fake_clear()
    if stack.worker is None:
        stack.start_worker()
    log(f"{stack.kind}: free tier, 30/s for {window:.0f} s")
    bid = stack.broadcast(uuid, message_id)
    rate = measure_rate(stack, 2.0, window)
    stack.cancel(bid)
    results["free_rate_fraction"] = round(rate["rate"] / 30.0, 4)
    details["free"] = {"db": stack.kind, "rate": rate}
    details["rate_429_free"] = rate["rate_limited"]
    log(f"  free rate {rate['rate']:.2f}/s, 429s {rate['rate_limited']}")


def bench_realistic(
    stack: Stack, n: int, window: float, results: dict[str, Any], details: dict
) -> None:
    """The paid tier against the fake's realistic mode (429s ask for 5-30 s, sends counted
    up to 10 ms late, 100 ms latency), with 100 groups that migrate into muted chats and
    2 % of sends answering 500 once (retried): the leak row counts messages to muted chats."""
    uuid, app_id, org_id = stack.create_app("realistic")
    message_id = stack.create_message()
    stack.load_tokens(org_id, app_id, n)
    groups = [f"-{5000 + i}" for i in range(100)]
    moved = {g: -(1_000_000_000_000 + 5000 + i) for i, g in enumerate(groups)}
    body = {"tokens": [{"token": g, "externalCustomerId": f"grp{g}"} for g in groups]}
    stack.http.post(f"/v1/apps/{uuid}/tokens", json=body).raise_for_status()
    muted = [str(t) for t in moved.values()]
    stack.http.post(f"/v1/apps/{uuid}/token/mute", json={"tokens": muted}).raise_for_status()
    stack.http.patch(
        f"/v1/apps/{uuid}",
        json={"paidBroadcast": True, "paidMessagesPerSecond": 1000, "messagesPerSecond": 30},
    ).raise_for_status()
    stack.fake_config(
        enforce_limits=True,
        latency_ms=100,
        realistic=True,
        arrival_jitter_ms=10,
        migrated=moved,
        fault_rate=0.02,
        fault_kind="500",
        max_messages=max(300_000, n + 1000),
    )
    stack.fake_clear()
    if stack.worker is None:
        stack.start_worker()
    log(f"{stack.kind}: realistic paid tier, {n:,} recipients (retry_after 5-30 s, 10 ms jitter)")
    bid = stack.broadcast(uuid, message_id)
    wait_for(lambda: stack.fake_stats()["accepted"] > 0, 600, 0.02)
    t0 = time.monotonic()
    retry_mutes: dict[str, float] = {}
    stop = threading.Event()
    muter = threading.Thread(
        target=mute_waiting_retries, args=(stack, uuid, bid, retry_mutes, stop), daemon=True
    )
    muter.start()
    # The pacing under these conditions: every request over a window in the middle of
    # the send. 2 % of them are injected 500s (they take a slot of the limit as any
    # send does, and are retried), so the accepted messages alone could not pass 0.98.
    steady = measure_rate(stack, 2.0, window, counter="requests")
    wait_for(
        lambda: stack.scalar("SELECT status FROM broadcasts WHERE id = :b", b=bid) == "FINISHED",
        n / 200 + 600,
        0.5,
    )
    elapsed = time.monotonic() - t0
    stop.set()
    muter.join(30)
    stats = stack.fake_stats()
    leaked_migration = 0
    for chat in muted:
        leaked_migration += len(
            stack.fake_http.get("/_fake/messages", params={"chat_id": chat}).json()
        )
    leaked_retry = 0
    for chat, t_response in retry_mutes.items():
        msgs = stack.fake_http.get("/_fake/messages", params={"chat_id": chat}).json()
        leaked_retry += sum(1 for m in msgs if m["arrival_wall_time"] > t_response)
    leaked = leaked_migration + leaked_retry
    stack.fake_config(realistic=False, arrival_jitter_ms=0, migrated={}, fault_rate=0.0)
    ideal = n / 985.0
    results["realistic_rate_fraction"] = round(steady["rate"] / 1000.0, 4)
    results["realistic_429_per_100k"] = round(stats["rate_limited"] * 100_000 / max(n, 1), 2)
    # Time lost to 429 pauses, an upper bound: every 429 as a whole pause of the longest
    # retry_after (30 s), none overlapping. (Elapsed against ideal is in the details: on a
    # loaded machine it is mostly CPU, not pauses.)
    results["realistic_429_pause_fraction"] = round(
        min(1.0, stats["rate_limited"] * 30.0 / elapsed), 4
    )
    results["leak_through_migration_retry"] = leaked
    details["realistic"] = {
        "db": stack.kind,
        "recipients": n,
        "steady": steady,
        # Until round 5 this was realistic_rate_fraction: accepted messages over the
        # whole send, from the first accepted to FINISHED (polled every 0.5 s), which
        # counts the injected 500s, the last retries' back-off and the finish as loss.
        "accepted_over_whole_send_fraction": round(stats["accepted"] / elapsed / 1000.0, 4),
        "elapsed_s": round(elapsed, 2),
        "ideal_s_at_985": round(ideal, 2),
        "elapsed_over_ideal_lost_fraction": round(max(0.0, elapsed - ideal) / elapsed, 4),
        "fake_stats": stats,
        "migrated_into_muted": len(groups),
        "leaked_through_migration": leaked_migration,
        "muted_between_a_500_and_its_retry": len(retry_mutes),
        "leaked_through_retry": leaked_retry,
    }
    log(
        f"  {stats['accepted']:,} accepted in {elapsed:.1f} s, 429s {stats['rate_limited']},"
        f" faults {stats['faults']}, leaks {leaked_migration} through migrations,"
        f" {leaked_retry} through retries of {len(retry_mutes)} chats muted while waiting;"
        f" steady {steady['rate']:.1f} requests/s over {steady['window_s']} s"
    )
    stack.stop_worker()


def mute_waiting_retries(
    stack: Stack, uuid: str, bid: int, muted: dict[str, float], stop: threading.Event
) -> None:
    """While the realistic run goes on: mutes chats whose send failed (a 500) and wait for
    their retry (back-off 0.5 s first), up to 300 of them; ``muted`` gets each chat's
    mute response time. Their retries must be stopped by the pre-send check."""
    while not stop.is_set() and len(muted) < 300:
        with stack.engine.connect() as conn:
            tokens = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT token FROM deliveries WHERE broadcast_id = :b"
                        " AND status = 'IN_QUEUE' AND attempts > 0 ORDER BY id LIMIT 100"
                    ),
                    {"b": bid},
                )
                if r[0] not in muted
            ]
        if tokens:
            r = stack.http.post(f"/v1/apps/{uuid}/token/mute", json={"tokens": tokens})
            t_response = time.time()
            if r.status_code == 200:
                muted.update(dict.fromkeys(tokens, t_response))
        stop.wait(0.2)


def profile(pid: int, name: str, duration: float) -> subprocess.Popen[bytes] | None:
    """With HUSHCAST_BENCH_PROFILE=1, py-spy samples the process (all threads, idle
    included) into OUT/<name>.txt (collapsed stacks) while the benchmark runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if os.environ.get("HUSHCAST_BENCH_PROFILE") != "1" or not Path(spy).exists():
        return None
    # Starts after the warm-up second of measure_rate, so start-up is not sampled.
    return subprocess.Popen(
        [
            "sh",
            "-c",
            'sleep 1.2; exec "$0" "$@"',
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(duration))),
            "--rate",
            "250",
            "--gil",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(OUT / f"{name}.txt"),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# -- 4. raw sending speed --------------------------------------------------------------------


def run_bare(stack: Stack, loop: str, concurrency: int, window: float, rate_hint: float) -> dict:
    """The bare aiohttp loop (bench/bare_client.py) against the fake, measured like the
    worker: accepted/s over ``window`` after a warm-up second."""
    stack.fake_clear()
    # Enough requests to outlast the warm-up and the window at any speed this machine
    # reaches (the process is killed once measured). Sized from the worker's rate, the
    # run before the worker had 30,000 at a 1,000/s hint: a bare loop at 9,000/s ran
    # out within the window and was measured at half its speed (round 8).
    bare_n = int(max(rate_hint, 25_000) * (window + 2))
    bare = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "bare_client.py"),
            stack.fake_url,
            "700999:bench-bare",
            str(bare_n),
            str(concurrency),
            loop,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    b_cpu0 = cpu_seconds(bare.pid)
    f_cpu0 = cpu_seconds(stack.fake.pid)
    rate = measure_rate(stack, 1.0, window)
    b_cpu = cpu_seconds(bare.pid) - b_cpu0
    f_cpu = cpu_seconds(stack.fake.pid) - f_cpu0
    bare.kill()
    bare.wait()
    log(f"  bare aiohttp ({loop}) {rate['rate']:.0f} msg/s")
    return {
        "rate": rate,
        "bare_cpu_pct": round(100 * b_cpu / rate["window_s"], 1),
        "fake_cpu_pct_with_bare": round(100 * f_cpu / rate["window_s"], 1),
    }


def bench_raw(stack: Stack, n: int, window: float, results: dict[str, Any], details: dict) -> None:
    uuid, app_id, org_id = stack.create_app("raw")
    message_id = stack.create_message()
    stack.load_tokens(org_id, app_id, n)
    with stack.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE apps SET paid_broadcast = TRUE, paid_messages_per_second = 1000000,"
                " messages_per_second = 1000000 WHERE id = :a"
            ),
            {"a": app_id},
        )
    stack.fake_config(enforce_limits=False, latency_ms=0, max_messages=10_000)
    concurrency = int(stack.env.get("HUSHCAST_WORKER_CONCURRENCY", "256"))
    log(f"{stack.kind}: raw speed, worker vs bare aiohttp loop, {concurrency} in flight")
    # The baseline (the bare loop on the worker's event loop, uvloop) is measured just
    # before and just after the worker, and the ratio taken against their mean: on this
    # shared machine the bare loop alone moved 30-40 % between runs minutes apart
    # (round 6), which a single baseline after the worker passed on to the ratio whole.
    before = run_bare(stack, "uvloop", concurrency, window, 1000)
    stack.fake_clear()
    worker = stack.start_worker()
    bid = stack.broadcast(uuid, message_id)
    w_cpu0 = cpu_seconds(worker.pid)
    f_cpu0 = cpu_seconds(stack.fake.pid)
    profiler = profile(worker.pid, "raw_worker", window)
    rate_w = measure_rate(stack, 1.0, window)
    if profiler is not None:
        profiler.wait()
    w_cpu = cpu_seconds(worker.pid) - w_cpu0
    f_cpu = cpu_seconds(stack.fake.pid) - f_cpu0
    stack.cancel(bid)
    stack.stop_worker()
    log(f"  worker {rate_w['rate']:.0f} msg/s")
    after = run_bare(stack, "uvloop", concurrency, window, rate_w["rate"])
    # The same loop on asyncio's default event loop, recorded beside it.
    on_asyncio = run_bare(stack, "asyncio", concurrency, window, rate_w["rate"])
    bare_rate = (before["rate"]["rate"] + after["rate"]["rate"]) / 2
    results["worker_msgs_per_s"] = round(rate_w["rate"], 1)
    results["worker_vs_bare_ratio"] = round(rate_w["rate"] / bare_rate, 3)
    details["raw"] = {
        "db": stack.kind,
        "concurrency": concurrency,
        "worker": rate_w,
        "worker_cpu_pct": round(100 * w_cpu / rate_w["window_s"], 1),
        "fake_cpu_pct_with_worker": round(100 * f_cpu / rate_w["window_s"], 1),
        "bare_uvloop_before": before,
        "bare_uvloop_after": after,
        "bare_uvloop_mean_rate": round(bare_rate, 1),
        "bare_asyncio": on_asyncio,
        "worker_vs_bare_asyncio_ratio": round(rate_w["rate"] / on_asyncio["rate"]["rate"], 3),
    }


# -- report ---------------------------------------------------------------------------------


def verdict(key: str, value: Any) -> str:
    if key not in TARGETS or value is None:
        return ""
    op, limit = TARGETS[key]
    ok = value >= limit if op == ">=" else value <= limit
    return "met" if ok else "MISSED"


def target_text(key: str) -> str:
    if key not in TARGETS:
        return ""
    op, limit = TARGETS[key]
    return f"{'≥' if op == '>=' else '≤'} {limit:g}"


def table(results: dict[str, Any]) -> str:
    lines = ["| key | value | target | |", "| --- | ---: | --- | --- |"]
    for key in KEY_ORDER:
        value = results.get(key)
        lines.append(f"| {key} | {value} | {target_text(key)} | {verdict(key, value)} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN + "/postgres") as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    except Exception:
        pg = "unavailable"
    import sqlite3

    # wrk is needed by the mute benchmark only: a run of the others without it still works.
    wrk = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        if shutil.which("wrk")
        else subprocess.CompletedProcess([], 0, "wrk not installed", "")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "sqlite": sqlite3.sqlite_version,
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
        "load_avg_at_start": os.getloadavg(),
    }


BEGIN = "<!-- bench:begin (generated by bench/run.py; edit outside these markers) -->"
END = "<!-- bench:end -->"


def write_markdown(results: dict[str, Any], details: dict, meta: dict[str, Any]) -> None:
    path = ROOT / "BENCHMARKS.md"
    m = meta["machine"]
    mode = "bench-quick" if meta["quick"] else "bench"
    body = f"""{BEGIN}
## Latest run: `make {mode}`

- Date: {meta["date"]}, {meta["duration_s"]:.0f} s
- Machine: {m["cpu"]}, {m["cores"]} cores, {m["memory_gb"]} GB, Linux {m["kernel"]};
  Python {m["python"]}, PostgreSQL {m["postgresql"]}, SQLite {m["sqlite"]}, {m["wrk"]};
  load average at start {", ".join(f"{x:.2f}" for x in m["load_avg_at_start"])} (shared machine)
- Command: `{meta["command"]}`; raw outputs in `bench/out/`, figures in `bench/results.json`

{table(results)}

Sizes of this run: {json.dumps(meta["sizes"])}

<details><summary>Details (baselines, CPU shares, outcomes)</summary>

```json
{json.dumps(details, indent=2, default=str)}
```

</details>
{END}"""
    if path.exists():
        old = path.read_text()
        if BEGIN in old and END in old:
            new = old[: old.index(BEGIN)] + body + old[old.index(END) + len(END) :]
            path.write_text(new)
            return
        path.write_text(old.rstrip() + "\n\n" + body + "\n")
        return
    path.write_text("# Benchmarks\n\n" + body + "\n")


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced run, under 3 minutes")
    parser.add_argument(
        "--only", default="", help="comma list of: mute,plan,free,raw,realistic (default: all)"
    )
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.only.split(",") if s} or {"mute", "plan", "free", "raw", "realistic"}
    quick = args.quick
    sizes: dict[str, Any] = {
        "mute_duration_s": 4 if quick else 10,
        # HUSHCAST_BENCH_PLAN_N: a smaller audience for trying a change (not for results).
        "plan_recipients": int(
            os.environ.get("HUSHCAST_BENCH_PLAN_N", 100_000 if quick else 1_000_000)
        ),
        "plan_db": "sqlite" if quick else "postgres",
        "rate_window_s": 10 if quick else 20,
        "raw_recipients": 30_000 if quick else 120_000,
        "raw_window_s": 4 if quick else 10,
        "realistic_recipients": 30_000 if quick else 200_000,
    }
    results: dict[str, Any] = {k: None for k in KEY_ORDER}
    details: dict[str, Any] = {}
    started = time.monotonic()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "command": "python bench/run.py" + (" --quick" if quick else ""),
        "machine": machine(),
        "sizes": sizes,
    }
    stacks: list[Stack] = []
    try:
        sqlite_stack = Stack("sqlite", "sqlite")
        stacks.append(sqlite_stack)
        if "mute" in only:
            bench_mute(sqlite_stack, sizes["mute_duration_s"], results, details)
        pg_stack = Stack("postgres", "pg")
        stacks.append(pg_stack)
        if "mute" in only:
            bench_mute(pg_stack, sizes["mute_duration_s"], results, details)
            results["bulk_mute_10k_s"] = max(
                details["bulk_mute_10k_s_sqlite"], details["bulk_mute_10k_s_postgres"]
            )
        if "plan" in only:
            plan_stack = sqlite_stack if sizes["plan_db"] == "sqlite" else pg_stack
            bench_plan_and_send(
                plan_stack, int(sizes["plan_recipients"]), sizes["rate_window_s"], results, details
            )
        if "free" in only:
            bench_free(pg_stack, sizes["rate_window_s"], results, details)
        if "plan" in only or "free" in only:
            results["rate_429_count"] = details.get("rate_429_free", 0) + details.get(
                "rate_429_paid", 0
            )
        if "realistic" in only:
            bench_realistic(
                pg_stack,
                int(sizes["realistic_recipients"]),
                sizes["rate_window_s"],
                results,
                details,
            )
        if "raw" in only:
            bench_raw(
                pg_stack, int(sizes["raw_recipients"]), sizes["raw_window_s"], results, details
            )
    finally:
        for stack in stacks:
            try:
                stack.close()
            except Exception as exc:
                log(f"cleanup of {stack.kind} failed: {exc!r}")
    meta["duration_s"] = time.monotonic() - started
    out = {**results, "details": details, "meta": meta}
    RESULTS.write_text(json.dumps(out, indent=2, default=str) + "\n")
    if not args.no_markdown and "HUSHCAST_BENCH_OUT" not in os.environ:
        write_markdown(results, details, meta)
    print(table(results))
    print(f"\n{meta['command']}: {meta['duration_s']:.0f} s; {RESULTS} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

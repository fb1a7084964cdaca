"""The running stack of a benchmark: its processes (the fake Telegram server, the API, the
worker), their CPU and memory, and the database they share (SQLite or a throw-away
PostgreSQL database), with the calls the benchmark rows make on them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench.settings import OUT, PG_ADMIN, ROOT
from sqlalchemy import DateTime, Engine, bindparam, create_engine, text

# The process spawning and waiting helpers are the tests' (tests/support).
from tests.support.processes import (
    api_command,
    fake_server_command,
    free_port,
    hushcast_command,
    worker_command,
)
from tests.support.waiting import wait_for

FOREVER = datetime(9999, 12, 31, 23, 59, 59)
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def _stat_cpu_seconds(path: str) -> float:
    """User plus system CPU seconds from a /proc .../stat file (OSError if it is gone)."""
    with open(path) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    try:
        return _stat_cpu_seconds(f"/proc/{pid}/stat")
    except OSError:
        return 0.0


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each of the process's threads, by thread id (the main thread's id is
    the process id); threads that ended since are not counted."""
    out: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            out[int(tid)] = _stat_cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue
    return out


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

"""Webhooks on vs off: the same paced broadcast, sent with no webhook and with one that
receives every delivery event, side by side in one run (``make bench-webhooks``).

``python bench/webhooks.py [--quick] [--db sqlite|postgres] [--n N]``: the full run is
100,000 recipients on PostgreSQL at the paid broadcast rate (1,000/s); --quick is
20,000 on SQLite. Prints one JSON object and writes it to ``bench/out/webhooks.json``.
Figures: sends per second from the first send to FINISHED for each run, their ratio
(target >= 0.95), and for the webhook run the time from FINISHED until the receiver had
every event, and the largest POST seen.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ["HUSHCAST_WEBHOOK_ALLOW_PRIVATE"] = "true"  # the receiver is on 127.0.0.1
# The repository root on sys.path: the benchmark's stack (bench/stack.py) and the tests'
# waiting helper (tests/support) are imported from there.
sys.path.insert(0, str(ROOT))

from bench.settings import OUT  # noqa: E402
from bench.stack import Stack, cpu_seconds, log  # noqa: E402
from sqlalchemy import text  # noqa: E402
from tests.support.waiting import wait_for  # noqa: E402


class CountingReceiver:
    """Accepts every POST (200) and counts the events in it."""

    def __init__(self) -> None:
        self.events = 0
        self.posts = 0
        self.largest = 0
        self.last_at = 0.0
        self.lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                n = len(json.loads(raw)["events"])
                with me.lock:
                    me.events += n
                    me.posts += 1
                    me.largest = max(me.largest, n)
                    me.last_at = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def one_run(stack: Any, n: int, receiver: CountingReceiver | None, tag: str) -> dict[str, Any]:
    uuid, app_id, org_id = stack.create_app(tag)
    message_id = stack.create_message()
    stack.load_tokens(org_id, app_id, n)
    with stack.engine.begin() as conn:
        conn.execute(text("UPDATE apps SET paid_broadcast = TRUE WHERE id = :a"), {"a": app_id})
    hook_id = None
    if receiver is not None:
        r = stack.http.post("/v1/webhooks", json={"url": receiver.url, "events": ["delivery"]})
        r.raise_for_status()
        hook_id = r.json()["id"]
    stack.fake_clear()
    worker = stack.start_worker()
    bid = stack.broadcast(uuid, message_id)
    wait_for(lambda: stack.fake_stats()["accepted"] > 0, 600, 0.01)
    t0 = time.monotonic()
    cpu0 = cpu_seconds(worker.pid)
    wait_for(
        lambda: stack.scalar("SELECT status FROM broadcasts WHERE id = :b", b=bid) == "FINISHED",
        3600,
        0.05,
    )
    t1 = time.monotonic()
    cpu = cpu_seconds(worker.pid) - cpu0
    out: dict[str, Any] = {
        "sent_per_s": round(n / (t1 - t0), 1),
        "send_s": round(t1 - t0, 2),
        # The worker's CPU (user + system, all threads) per 1,000 recipients while
        # sending: what the webhook costs the worker, whatever the machine's load.
        "worker_cpu_ms_per_1000": round(cpu * 1e6 / n, 1),
        "worker_cpu_share": round(cpu / (t1 - t0), 2),
    }
    if receiver is not None:
        wait_for(lambda: receiver.events >= n, 3600, 0.05)
        out["events"] = receiver.events
        out["events_done_after_finished_s"] = round(max(0.0, receiver.last_at - t1), 2)
        out["posts"] = receiver.posts
        out["largest_post"] = receiver.largest
        stack.http.delete(f"/v1/webhooks/{hook_id}")
    stack.stop_worker()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    parser.add_argument("--n", type=int)
    parser.add_argument(
        "--pairs",
        type=int,
        default=2,
        help="off/on pairs, alternating order (off, on, on, off, ...) so that neither "
        "side always runs on the fuller database",
    )
    args = parser.parse_args()
    db = args.db or ("sqlite" if args.quick else "postgres")
    n = args.n or (20_000 if args.quick else 100_000)
    OUT.mkdir(parents=True, exist_ok=True)
    stack = Stack(db, "webhooks")
    offs: list[dict[str, Any]] = []
    ons: list[dict[str, Any]] = []
    try:
        for i in range(args.pairs):
            for side in ("off", "on") if i % 2 == 0 else ("on", "off"):
                tag = f"{side}{i}"
                if side == "off":
                    offs.append(one_run(stack, n, None, tag))
                    log(f"webhook off: {offs[-1]}")
                else:
                    ons.append(one_run(stack, n, CountingReceiver(), tag))
                    log(f"webhook on: {ons[-1]}")
    finally:
        stack.close()
    off_rate = sum(r["sent_per_s"] for r in offs) / len(offs)
    on_rate = sum(r["sent_per_s"] for r in ons) / len(ons)
    off_cpu = sum(r["worker_cpu_ms_per_1000"] for r in offs) / len(offs)
    on_cpu = sum(r["worker_cpu_ms_per_1000"] for r in ons) / len(ons)
    result = {
        "db": db,
        "recipients": n,
        "off": offs,
        "on": ons,
        "on_vs_off_ratio": round(on_rate / off_rate, 3),
        "worker_cpu_on_vs_off": round(on_cpu / off_cpu, 3),
        "target": ">= 0.95",
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
    }
    (OUT / "webhooks.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

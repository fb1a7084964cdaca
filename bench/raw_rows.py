"""The raw sending speed row: the worker against a bare aiohttp loop (bench/bare_client.py)
on the same fake, and the optional py-spy profile of the worker (HUSHCAST_BENCH_PROFILE=1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.send_rows import measure_rate
from bench.settings import OUT, ROOT
from bench.stack import Stack, cpu_seconds, log
from sqlalchemy import text
from tests.support.waiting import wait_for


def profile(pid: int, name: str, duration: float) -> subprocess.Popen[bytes] | None:
    """With HUSHCAST_BENCH_PROFILE=1, py-spy samples the process (all threads, idle
    included) into OUT/<name>.txt (collapsed stacks) while the benchmark runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if os.environ.get("HUSHCAST_BENCH_PROFILE") != "1" or not Path(spy).exists():
        return None
    # Called once the worker sends; starts after measure_rate's warm-up second.
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
    # Sampled once the worker sends (its start-up is not what is measured).
    wait_for(lambda: stack.fake_stats()["accepted"] > 0, 600, 0.02)
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

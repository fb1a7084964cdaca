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
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The repository root on sys.path: the benchmark's modules (bench/*.py) and the tests'
# process spawning and waiting helpers (tests/support) are imported from there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The stack in bench/stack.py, the rows in bench/mute_rows.py, send_rows.py and
# raw_rows.py, the targets, table and BENCHMARKS.md block in bench/report.py.
from bench.mute_rows import bench_mute  # noqa: E402
from bench.raw_rows import bench_raw  # noqa: E402
from bench.report import KEY_ORDER, machine, table, write_markdown  # noqa: E402
from bench.send_rows import bench_free, bench_plan_and_send, bench_realistic  # noqa: E402
from bench.settings import OUT, RESULTS  # noqa: E402
from bench.stack import Stack, log  # noqa: E402

# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced run, under 3 minutes")
    parser.add_argument(
        "--only", default="", help="comma list of: mute,plan,free,raw,realistic (default: all)"
    )
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args()
    # A SIGTERM (`timeout`, a CI job's end) unwinds like Ctrl-C, so the finally below
    # stops the processes and drops the benchmark's PostgreSQL databases: killed
    # outright, a run left its database (and its rows) behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
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

"""The mute API rows: requests per second and p99 against a no-op endpoint (wrk), and a
bulk mute of 10,000 tokens."""

from __future__ import annotations

import re
import resource
import subprocess
import time
from typing import Any

from bench.settings import OUT, ROOT
from bench.stack import Stack, cpu_seconds, log

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

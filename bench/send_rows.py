"""The sending rows: the rate the fake accepted (measure_rate), planning a broadcast against
a bare INSERT ... SELECT, the paid-tier send with a mute during it (leak, worker memory),
the free tier, and the realistic paid tier (429s, migrations, retried 500s)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.stack import RssSampler, Stack, cpu_seconds, log, proc_status, thread_cpu_seconds
from sqlalchemy import DateTime, bindparam, text
from tests.support.waiting import wait_for

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
    threads0 = thread_cpu_seconds(pid) if pid else {}
    s0, t0 = stack.fake_stats(), time.monotonic()
    if during is not None:
        threading.Timer(min(3.0, window / 3), during).start()
    time.sleep(window)
    s1, t1 = stack.fake_stats(), time.monotonic()
    cpu = cpu_seconds(pid) - cpu0 if pid else 0.0
    threads1 = thread_cpu_seconds(pid) if pid else {}
    counted = s1[counter] - s0[counter]
    # The event loop's thread apart from the database threads (claims, checks, outcome
    # writes, planning): round 14 found the second costing two to three times as much per
    # send at the paid rate as in the raw run.
    main = threads1.get(pid, 0.0) - threads0.get(pid, 0.0) if pid else 0.0
    others = sum(t - threads0.get(tid, 0.0) for tid, t in threads1.items() if tid != pid)
    return {
        "rate": counted / (t1 - t0),
        "counter": counter,
        "window_s": round(t1 - t0, 2),
        "accepted": s1["accepted"] - s0["accepted"],
        "requests": s1["requests"] - s0["requests"],
        "rate_limited": s1["rate_limited"],
        "worker_cpu_ms_per_1000": round(1e6 * cpu / counted, 1) if pid and counted else None,
        "worker_loop_thread_ms_per_1000": round(1e6 * main / counted, 1)
        if pid and counted
        else None,
        "worker_other_threads_ms_per_1000": round(1e6 * others / counted, 1)
        if pid and counted
        else None,
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
    # When the 429s came (first seen by this poll, once a second), not only how many:
    # round 13 met 19 in one run and none in the next, and the counts could not say
    # whether they came in one burst, at the start or in the middle of the send.
    bursts: list[dict[str, Any]] = []
    seen_429 = 0

    def finished() -> bool:
        nonlocal seen_429
        fake = stack.fake_stats()
        if fake["rate_limited"] > seen_429:
            bursts.append(
                {
                    "seen_at_s": round(time.monotonic() - t_first, 1),
                    "new_429s": fake["rate_limited"] - seen_429,
                    "accepted": fake["accepted"],
                }
            )
            seen_429 = fake["rate_limited"]
        return stack.scalar("SELECT status FROM broadcasts WHERE id = :b", b=bid) == "FINISHED"

    wait_for(finished, deadline, 1.0)
    send_s = time.monotonic() - t_first
    hwm = proc_status(worker.pid, "VmHWM")
    rss.stop()
    stats = stack.fake_stats()
    # Time lost to 429 pauses: how long Telegram barred the bot (the fake's union of the
    # 429s' retry_after windows: a burst of 429s inside one pause is that pause once).
    results["paid_429_pause_fraction"] = round(stats["rate_limited_pause_ms"] / 1000 / send_s, 4)
    # Until round 10 the row was this upper bound: every 429 as a whole 10 s pause.
    pause_bound = round(min(1.0, stats["rate_limited"] * 10.0 / send_s), 4)
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
        "pause_upper_bound_fraction": pause_bound,
        "bursts_of_429": bursts,
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
    # Time lost to 429 pauses: how long Telegram barred the bot (the union of the 429s'
    # retry_after windows, 5-30 s each here). Until round 10 the row was an upper bound,
    # every 429 as a whole 30 s pause, kept in the details. (Elapsed against ideal is in
    # the details too: on a loaded machine it is mostly CPU, not pauses.)
    results["realistic_429_pause_fraction"] = round(
        stats["rate_limited_pause_ms"] / 1000 / elapsed, 4
    )
    pause_bound = round(min(1.0, stats["rate_limited"] * 30.0 / elapsed), 4)
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
        "pause_upper_bound_fraction": pause_bound,
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

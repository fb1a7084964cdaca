"""Pacing sends within Telegram's limits: per bot, per private chat, per group chat.

Telegram counts sends in sliding windows, so bursts are what get a bot a 429.
The pacer hands out send slots at fixed intervals and never lets unused slots
pile up (an idle bot does not earn a burst), and a hard window caps what any
span can hold whatever the event loop does.
"""

from __future__ import annotations

import bisect
import time
from collections import deque


class Pacer:
    """Even send slots at an adaptive rate, plus a hard sliding window that no catch-up
    can break.

    Slots come every ``1 / (limit * safety * factor)`` seconds, so sends stay smooth; a
    loop that fell behind may catch up on slots missed by up to ``max_lag`` (a short
    burst), never more.

    The window holds at most ``floor(limit)`` sends (Telegram's count per second) in
    any span of one second *plus the jitter*: a send may reach Telegram later than we
    dispatched it, so two sends dispatched ``1 + jitter`` seconds apart may arrive one
    second apart. A window shorter than a second (as before: 985 per 0.995 s on the
    paid tier) let Telegram's clock see more than the limit whenever arrivals
    bunched. Our side of the jitter (a busy loop sending late) is already out of it:
    :meth:`started` moves a late send's stamp to when it left. What remains is the
    network's and Telegram's side: ``JITTER_S`` (10 ms, as the fake server's realistic
    mode injects with ``arrival_jitter_ms``), and ``BUSY_JITTER_S`` (20 ms) for a bot
    allowed more than ``BUSY_RATE`` sends a second, whose stream keeps the receiving
    end busy enough to stamp arrivals later (paid benchmark on a 2-core machine, 100,000
    recipients: 2-10 429s per run at 10 ms, none at 20 ms; realistic mode: a burst of
    10-12 429s in two runs of three at 10 ms, none in two at 20 ms). Beyond it the
    adaptive rate and the learned jitter below take over. With the default safety of
    0.985 the slots (985/s, 29.55/s) stay near the window (1,000 per 1.020 s = 980/s;
    30 per 1.010 s = 29.7/s).

    Adaptive (AIMD): a 429 multiplies the slot rate by ``DECREASE`` (once per burst of
    429s: the requests in flight all get one), on top of the ``retry_after`` pause;
    the rate then climbs back by ``INCREASE_PER_S`` of the limit per second without a
    429, to ``limit * safety`` at most. A 429 costs seconds on real Telegram
    (``retry_after`` of 5-30 s), so sending a little slower for a while is cheap.

    Learned jitter: the window's allowance for arrival jitter starts at that base and
    grows by ``JITTER_STEP_S`` with each 429 (once per burst, as the rate's decrease),
    up to ``MAX_JITTER_S``: a 429 says arrivals bunched more than the window allowed
    for, and the AIMD rate alone climbs back to the same rate in seconds and meets the
    same 429 again (paid benchmark on a busy 2-core machine: a 429 every 10 s or so).
    It shrinks back by ``JITTER_DECAY_PER_S`` while no 429 comes. At 30 ms the window
    holds 1,000 per 1.03 s (971/s).

    Measured arrival delays: a send counts in the window from when it left, until its
    answer says when it probably arrived. An answer that took longer than the fastest
    answer of the last few seconds (``answered``) moves the send's stamp that much later
    (at most ``MAX_SHIFT_S``): the request may have waited that long on its way in, in a
    queue, or in a receiving end that stalled and then stamped a backlog of requests at
    once. Such a backlog is what makes a 429 one second later: the requests that left
    over a stall's span are counted by Telegram in the window that also holds the next
    second's sends. The answer comes back well within the window (100 ms or so against a
    second), before the moved stamp's place in the window matters. A delay on the way
    back is counted too, so the estimate errs on the safe side, and a delay that every
    request shares moves every stamp alike and costs no rate; only the spread does.

    Start-up: for a bot allowed more than ``BUSY_RATE`` sends a second, a take that
    follows an idle spell (its first sends, or its first after a 429 pause) starts the
    rate at ``STARTUP_FACTOR`` of the slots' rate, from where it climbs back by
    ``INCREASE_PER_S`` as after a 429. The first sends of a worker arrive
    later than the rest (new connections, the receiving end's first requests): 3-52 ms
    after their dispatch in the first 0.2 s against 2-6 ms later, in 5 fresh starts of
    30 that met a 429 at the limit's count (round 14 of BENCHMARKS.md). The measured
    delays cannot cover them: the first answers are the baseline they are measured
    against. Slower slots keep the first window's count under the limit by that much
    and leave no gap in the stamps (a longer window at the start did: the window binds a
    busy bot, and a gap in one window's stamps comes back in every later one). At
    1,000/s this costs about 120 sends per start. (A slow bot opens few connections at
    once, and the free tier has met no 429 since round 10.)

    Owed slots: a loop that comes back more than ``max_lag`` after its slot time gets
    ``max_lag`` of slots at once and is owed the rest (up to ``MAX_OWED_S`` of slots),
    paid back on top of later takes, at most ``REPAY_SHARE`` of each take's due slots.
    A busy worker's loop wakes late often: in a paid run on a 2-core machine, 276 times
    in 42 s, 4.7 ms past the allowance on average, and the slots dropped then were 3 %
    of the rate (0.946 of the limit against the window's 0.980). Paid back a quarter of
    a group at a time, they make no burst (a catch-up of 50-100 ms of slots at once drew
    429s, round 1 of BENCHMARKS.md), and the window still caps every span. A slow bot's
    takes (one or two slots) pay nothing back, and an idle spell or a 429 pause forgets
    the debt. They do leave the window less slack: the first full run with them met two
    bursts of 429s in 1,000,000 sends (round 15 of BENCHMARKS.md), as round 13's had
    without them; four alternating runs of 150,000 with and without met none.

    Sends are counted in the window from when they are dispatched: ``take``
    reserves slots, ``dispatched`` turns the reservation into sends stamped
    with the real dispatch time (the pre-send check sits between the two).

    The check takes time (``lead``: the mean from take to dispatch, learned from
    ``dispatched``). A reservation counting against the window for all of it held the
    window's places idle: at 20 ms per check the paid tier reached 0.960 of its limit
    instead of 0.980 (simulated and measured alike). So ``take`` leaves out the sends
    that will have left the window by the time its reservation goes out, ``lead`` from
    now, and :meth:`admit` makes the window exact at the dispatch itself: a group whose
    check came back sooner than that waits there until the window has room.
    """

    JITTER_S = 0.010
    BUSY_JITTER_S = 0.020
    BUSY_RATE = 100.0
    JITTER_STEP_S = 0.010
    MAX_JITTER_S = 0.050
    JITTER_DECAY_PER_S = 0.0001
    STARTUP_FACTOR = 0.93
    # Owed slots: at most this much of the schedule, paid back at most this share of a
    # take's due slots on top.
    MAX_OWED_S = 0.05
    REPAY_SHARE = 0.25
    DECREASE = 0.85
    MIN_FACTOR = 0.5
    INCREASE_PER_S = 0.02
    # 429s this close together are one signal (the requests in flight at the time).
    COALESCE_S = 1.0
    # The learned lead (take to dispatch): a running mean, and at most this.
    LEAD_WEIGHT = 0.1
    MAX_LEAD_S = 0.05
    # Arrival delays (answered): the fastest answer of the last one to two spans of this
    # length is the baseline; shifts below MIN_SHIFT_S are noise, above MAX_SHIFT_S a
    # stuck request, not a measure of the way in.
    BASELINE_SPAN_S = 2.0
    MIN_SHIFT_S = 0.001
    MAX_SHIFT_S = 0.1

    def __init__(
        self,
        limit: float,
        safety: float = 1.0,
        max_lag: float = 0.02,
        idle_after: float = 1.0,
    ) -> None:
        self.base_max_lag = max_lag
        self.idle_after = idle_after
        self.next_at = 0.0
        self.last_take = float("-inf")
        # Dispatch stamps in the window, sorted. A list, not a deque: take(), admit() and
        # answered() bisect it, and a deque's index costs a walk over its blocks
        # (answered(): 3.0 us per send on a deque, 2.1 on a list, simulated paid send).
        self.sent: list[float] = []
        self.reserved = 0
        # Slots a late loop missed beyond max_lag, paid back a few per take.
        self.owed = 0.0
        self.window_free_at = 0.0
        self.factor = 1.0
        self.base_jitter = self.JITTER_S
        self.jitter = self.JITTER_S
        self.last_decrease = float("-inf")
        # The rate climbs back from here (the end of the last 429 pause).
        self.recover_from = 0.0
        self.rate_limited_count = 0
        self.lead = 0.0
        # The fastest answer in the current baseline span and in the one before.
        self.fastest = float("inf")
        self.fastest_before = float("inf")
        self.fastest_since = float("-inf")
        self.set_rate(limit, safety)

    def set_rate(self, limit: float, safety: float = 1.0) -> None:
        self.limit = limit
        self.safety = safety
        # Telegram's count per second (the fake server models the same window).
        self.per_window = max(1, int(limit))
        base = self.BUSY_JITTER_S if limit > self.BUSY_RATE else self.JITTER_S
        # A learned jitter above the base is kept; a new base applies at once.
        self.jitter = max(base, self.jitter - self.base_jitter + base)
        self.base_jitter = base
        self._apply()

    def _apply(self) -> None:
        self.interval = 1.0 / (self.limit * self.safety * self.factor)
        # Catch-up bursts stay short (20 sends at 1,000/s): Telegram spreads a burst
        # over the time it takes to read it, and a burst read late still counts in
        # the window that our clock has already moved past. A slow rate may still
        # catch up on one missed slot.
        self.max_lag = max(self.base_max_lag, 1.5 * self.interval)
        # Telegram's span for floor(limit) sends (one second for a whole limit), plus the
        # jitter.
        self.window = self.per_window / self.limit + self.jitter

    @property
    def rate(self) -> float:
        """Sends per second the slots allow now."""
        return 1.0 / self.interval

    def rate_limited(self, now: float, resume_at: float) -> None:
        """Telegram answered 429: no slot before ``resume_at``, and a lower rate after."""
        self.pause_until(resume_at)
        self.rate_limited_count += 1
        if now - self.last_decrease >= self.COALESCE_S:
            self.last_decrease = now
            self.factor = max(self.MIN_FACTOR, self.factor * self.DECREASE)
            self.jitter = min(self.MAX_JITTER_S, self.jitter + self.JITTER_STEP_S)
            self._apply()
        self.recover_from = max(self.recover_from, resume_at)

    def _recover(self, now: float) -> None:
        """Additive increase: ``INCREASE_PER_S`` per second since the last pause ended."""
        elapsed = now - self.recover_from
        if elapsed <= 0:
            return
        self.recover_from = now
        self.factor = min(1.0, self.factor + self.INCREASE_PER_S * elapsed)
        self.jitter = max(self.base_jitter, self.jitter - self.JITTER_DECAY_PER_S * elapsed)
        self._apply()

    def take(self, now: float, wanted: int) -> int:
        """How many sends may go now (up to ``wanted``); reserves their slots."""
        if now < self.next_at or wanted <= 0:
            return 0
        if self.factor < 1.0 or self.jitter > self.base_jitter:
            self._recover(now)
        if now - self.last_take > self.idle_after:
            # Idle: an unused bot earns no burst, and starts slower (see the class's
            # "Start-up"): the rate climbs back as after a 429.
            self.next_at = max(self.next_at, now)
            self.owed = 0.0
            if self.limit > self.BUSY_RATE and self.factor > self.STARTUP_FACTOR:
                self.factor = self.STARTUP_FACTOR
                self.recover_from = max(self.recover_from, now)
                self._apply()
        elif now - self.next_at > self.max_lag:
            # A busy loop may catch up on slots missed by up to max_lag at once; the
            # rest is owed and paid back a few slots per take (see the class's "Owed
            # slots").
            missed = (now - self.max_lag - self.next_at) / self.interval
            self.owed = min(self.MAX_OWED_S / self.interval, self.owed + missed)
            self.next_at = now - self.max_lag
        self.last_take = now
        sent = self.sent
        horizon = now - self.window
        self._drop_until(horizon)
        # Sends that leave the window before this reservation goes out (``lead`` from
        # now) hold no place for it; admit() checks the window at the dispatch itself.
        leaving = bisect.bisect_right(sent, horizon + self.lead) if self.lead > 0 else 0
        due = int((now - self.next_at) / self.interval) + 1
        repay = min(int(self.owed), int(due * self.REPAY_SHARE)) if self.owed >= 1 else 0
        n = min(wanted, due + repay, self.per_window - (len(sent) - leaving) - self.reserved)
        if n <= 0:
            # Window full: wait for its oldest send to leave it. The slot schedule
            # stays put, so a send held back a few ms here is made up right after
            # (within max_lag) instead of shifting every later slot.
            if leaving < len(sent) and len(sent) - leaving + self.reserved >= self.per_window:
                self.window_free_at = sent[leaving] + self.window - self.lead
            return 0
        scheduled = min(n, due)
        self.next_at += scheduled * self.interval
        self.owed -= n - scheduled
        self.reserved += n
        return n

    def _drop_until(self, horizon: float) -> None:
        """Forgets the sends that left the window (stamped at ``horizon`` or before)."""
        sent = self.sent
        if sent and sent[0] <= horizon:
            del sent[: bisect.bisect_right(sent, horizon)]

    def room(self, now: float) -> int:
        """How many sends may go out at ``now`` with the window still holding at most
        its count (then call ``dispatched`` with no await in between)."""
        sent = self.sent
        horizon = now - self.window
        self._drop_until(horizon)
        return max(0, self.per_window - len(sent))

    def admit(self, now: float, n: int) -> float:
        """Seconds to wait before ``n`` checked sends may go out at ``now`` with the
        window still holding at most its count; 0: now (then call ``dispatched`` with
        no await in between)."""
        sent = self.sent
        horizon = now - self.window
        self._drop_until(horizon)
        over = min(len(sent), len(sent) + n - self.per_window)
        if over <= 0:
            return 0.0
        return max(0.0, sent[over - 1] + self.window - now) + 1e-6

    def dispatched(self, taken: int, sent: int, t: float, taken_at: float | None = None) -> None:
        """``sent`` of ``taken`` reserved slots went out at ``t`` (reserved at
        ``taken_at``); the rest come back."""
        self.reserved = max(0, self.reserved - taken)
        if taken > sent:
            self.next_at -= (taken - sent) * self.interval
        if sent:
            self.sent.extend([t] * sent)
            if taken_at is not None:
                sample = min(max(0.0, t - taken_at), self.MAX_LEAD_S)
                self.lead += self.LEAD_WEIGHT * (sample - self.lead)

    def give_back(self, n: int) -> None:
        """Returns reserved slots for sends that turned out not to happen."""
        self.dispatched(n, 0, 0.0)

    def started(self, stamp: float, t: float) -> None:
        """One send dispatched at ``stamp`` actually left at ``t`` (its task ran).

        Telegram counts arrivals: a send delayed by a busy event loop must count
        from when it left, or the next sends would bunch up behind it.
        """
        # Always corrected, even while the window is far from full: a send that left
        # late right after a pause would otherwise count from too early once the window
        # has filled (the window holds exactly the limit, no spare send to hide it).
        self._move(stamp, t)

    def _move(self, stamp: float, t: float) -> None:
        """Moves one send counted at ``stamp`` to ``t``, keeping the stamps sorted (take()
        and answered() bisect them); nothing if no send is counted at ``stamp`` (it has
        left the window)."""
        sent = self.sent
        i = bisect.bisect_left(sent, stamp)
        if i == len(sent) or sent[i] != stamp:
            return
        del sent[i]
        bisect.insort(sent, t)

    def answered(self, stamp: float, took: float, now: float) -> None:
        """The send counted at ``stamp`` was answered (accepted) ``took`` seconds after it
        left, at ``now``: a slower answer than the fastest lately moves its stamp later
        by the difference (see the class's "Measured arrival delays")."""
        if now - self.fastest_since > self.BASELINE_SPAN_S:
            self.fastest_before, self.fastest = self.fastest, float("inf")
            self.fastest_since = now
        if took < self.fastest:
            self.fastest = took
        shift = took - min(self.fastest, self.fastest_before)
        if shift < self.MIN_SHIFT_S:
            return
        self._move(stamp, stamp + min(shift, self.MAX_SHIFT_S))

    def wait_time(self, now: float) -> float:
        return max(0.0, self.next_at - now, self.window_free_at - now)

    def pause_until(self, t: float) -> None:
        self.next_at = max(self.next_at, t)
        self.owed = 0.0


class ChatLimiter:
    """Per-chat limits: private chats at most ``private_rate``/s, groups ``group_per_minute``."""

    def __init__(self, private_rate: float, group_per_minute: float) -> None:
        self.configure(private_rate, group_per_minute)
        self._last_private: dict[str, float] = {}
        self._group_sends: dict[str, deque[float]] = {}
        self._last_prune = time.monotonic()

    def configure(self, private_rate: float, group_per_minute: float) -> None:
        self.private_interval = 1.0 / private_rate
        self.group_limit = max(1, int(group_per_minute))

    @staticmethod
    def is_group(token: str) -> bool:
        return token.startswith("-")

    def ready_at(self, token: str, now: float) -> float:
        if self.is_group(token):
            sends = self._group_sends.get(token)
            if sends is None:
                return now
            while sends and sends[0] <= now - 60.0:
                sends.popleft()
            if len(sends) < self.group_limit:
                return now
            return sends[0] + 60.0
        last = self._last_private.get(token)
        if last is None:
            return now
        return max(now, last + self.private_interval)

    def record(self, token: str, now: float, replace_last: bool = False) -> None:
        """Notes a send; ``replace_last`` moves the latest reservation to ``now``."""
        if self.is_group(token):
            sends = self._group_sends.setdefault(token, deque())
            if replace_last and sends:
                sends[-1] = max(sends[-1], now)
            else:
                sends.append(now)
        else:
            self._last_private[token] = now
        if now - self._last_prune > 10.0:
            self._prune(now)

    def _prune(self, now: float) -> None:
        self._last_prune = now
        horizon = now - max(self.private_interval, 1.0)
        self._last_private = {t: v for t, v in self._last_private.items() if v > horizon}
        self._group_sends = {t: q for t, q in self._group_sends.items() if q and q[-1] > now - 60.0}

"""Pacing sends within Telegram's limits: per bot, per private chat, per group chat.

Telegram counts sends in sliding windows, so bursts are what get a bot a 429.
The pacer hands out send slots at fixed intervals and never lets unused slots
pile up (an idle bot does not earn a burst), and a hard window caps what any
span can hold whatever the event loop does.
"""

from __future__ import annotations

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
    network's and Telegram's side, ``JITTER_S`` (10 ms, as the fake server's realistic
    mode injects with ``arrival_jitter_ms``); beyond it the adaptive rate below takes
    over. With the default safety of 0.985 the slots (985/s, 29.55/s) stay under the
    window (1,000 per 1.010 s = 990/s, 30 per 1.010 s = 29.7/s).

    Adaptive (AIMD): a 429 multiplies the slot rate by ``DECREASE`` (once per burst of
    429s: the requests in flight all get one), on top of the ``retry_after`` pause;
    the rate then climbs back by ``INCREASE_PER_S`` of the limit per second without a
    429, to ``limit * safety`` at most. A 429 costs seconds on real Telegram
    (``retry_after`` of 5-30 s), so sending a little slower for a while is cheap.

    Sends are counted in the window from when they are dispatched: ``take``
    reserves slots, ``dispatched`` turns the reservation into sends stamped
    with the real dispatch time (the pre-send check sits between the two).

    A reserved slot whose row was not sent (muted, deactivated, a broadcast paused
    meanwhile) comes back as credit, taken before the schedule's next slots and whatever
    the schedule's lag: its slot time has passed while the row was checked, so moving
    the schedule back (as before) put it behind ``max_lag`` whenever the check took
    longer than that, and the slot was lost. With 10 % of a broadcast's chats muted that
    lost about 10 % of the rate (paid benchmark: ~96 slots a second). Credit is capped at
    a tenth of a second of sends, never survives a pause or an idle spell, and the
    window still holds.
    """

    JITTER_S = 0.010
    DECREASE = 0.85
    MIN_FACTOR = 0.5
    INCREASE_PER_S = 0.02
    # 429s this close together are one signal (the requests in flight at the time).
    COALESCE_S = 1.0

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
        self.sent: deque[float] = deque()
        self.reserved = 0
        # Reserved slots that were not used (see the class docstring).
        self.credit = 0
        self.window_free_at = 0.0
        self.factor = 1.0
        self.jitter = self.JITTER_S
        self.last_decrease = float("-inf")
        # The rate climbs back from here (the end of the last 429 pause).
        self.recover_from = 0.0
        self.rate_limited_count = 0
        self.set_rate(limit, safety)

    def set_rate(self, limit: float, safety: float = 1.0) -> None:
        self.limit = limit
        self.safety = safety
        # Telegram's count per second (the fake server models the same window).
        self.per_window = max(1, int(limit))
        self._apply()

    def _apply(self) -> None:
        self.interval = 1.0 / (self.limit * self.safety * self.factor)
        # Catch-up bursts stay short (20 sends at 1,000/s): Telegram spreads a burst
        # over the time it takes to read it, and a burst read late still counts in
        # the window that our clock has already moved past. A slow rate may still
        # catch up on one missed slot.
        self.max_lag = max(self.base_max_lag, 1.5 * self.interval)
        self.max_credit = max(1, int(0.1 * self.limit * self.safety * self.factor))
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
            self._apply()
        self.recover_from = max(self.recover_from, resume_at)

    def _recover(self, now: float) -> None:
        """Additive increase: ``INCREASE_PER_S`` per second since the last pause ended."""
        elapsed = now - self.recover_from
        if elapsed <= 0:
            return
        self.recover_from = now
        self.factor = min(1.0, self.factor + self.INCREASE_PER_S * elapsed)
        self._apply()

    def take(self, now: float, wanted: int) -> int:
        """How many sends may go now (up to ``wanted``); reserves their slots."""
        if wanted <= 0 or (now < self.next_at and not self.credit):
            return 0
        if self.factor < 1.0:
            self._recover(now)
        if now - self.last_take > self.idle_after:
            # Idle: an unused bot earns no burst.
            self.next_at = max(self.next_at, now)
            self.credit = 0
        elif now - self.next_at > self.max_lag:
            # A busy loop may catch up on slots missed by up to max_lag, no more.
            self.lost = (
                getattr(self, "lost", 0) + (now - self.max_lag - self.next_at) / self.interval
            )
            self.next_at = now - self.max_lag
        self.last_take = now
        sent = self.sent
        horizon = now - self.window
        while sent and sent[0] <= horizon:
            sent.popleft()
        due = max(0, int((now - self.next_at) / self.interval) + 1) if now >= self.next_at else 0
        n = min(wanted, due + self.credit, self.per_window - len(sent) - self.reserved)
        if n <= 0:
            # Window full: wait for its oldest send to leave it. The slot schedule
            # stays put, so a send held back a few ms here is made up right after
            # (within max_lag) instead of shifting every later slot.
            if sent and len(sent) + self.reserved >= self.per_window:
                self.window_free_at = sent[0] + self.window
            return 0
        from_credit = min(self.credit, n)
        self.credit -= from_credit
        self.next_at += (n - from_credit) * self.interval
        self.reserved += n
        return n

    def dispatched(self, taken: int, sent: int, t: float) -> None:
        """``sent`` of ``taken`` reserved slots went out at ``t``; the rest come back."""
        self.reserved = max(0, self.reserved - taken)
        if taken > sent:
            self.credit = min(self.credit + taken - sent, self.max_credit)
        if sent:
            self.sent.extend([t] * sent)

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
        sent = self.sent
        for i in range(len(sent) - 1, max(-1, len(sent) - 2000), -1):
            if sent[i] == stamp:
                sent[i] = t
                return
            if sent[i] < stamp:
                return

    def wait_time(self, now: float) -> float:
        if self.credit:
            return max(0.0, self.window_free_at - now)
        return max(0.0, self.next_at - now, self.window_free_at - now)

    def pause_until(self, t: float) -> None:
        self.next_at = max(self.next_at, t)
        self.credit = 0


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

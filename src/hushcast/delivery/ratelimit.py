"""Pacing sends within Telegram's limits: per bot, per private chat, per group chat.

Telegram counts sends in sliding windows, so bursts are what get a bot a 429.
The pacer hands out send slots at fixed intervals and never lets unused slots
pile up (an idle bot does not earn a burst), and a hard window caps what any
span can hold whatever the event loop does.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW_SLACK_S = 0.005


class Pacer:
    """Even send slots, plus a hard sliding window that no catch-up can break.

    Slots come every ``1 / (limit * safety)`` seconds, so sends stay smooth; a
    loop that fell behind may catch up on slots missed by up to ``max_lag``
    (a short burst), never more. The window holds at most ``floor(limit)``
    sends (Telegram's count, as its window is modelled by the fake server) in
    any ``floor(limit) / (limit * safety)`` seconds less 5 ms. At 30/s and a
    safety of 0.985 the slots put the 31st send 1.015 s after the first, and the
    window holds 30 sends per 1.010 s, so the free tier can use 98.5 % of its
    limit (a one-second window of floor(30 * 0.985) = 29 sends capped it at
    96.7 %), with 10-15 ms left for the jitter between our dispatch and
    Telegram's arrival clock. A send held
    back by the window does not move the slot schedule: it goes as soon as the
    window allows, and the slots after it stay where they were.

    Sends are counted in the window from when they are dispatched: ``take``
    reserves slots, ``dispatched`` turns the reservation into sends stamped
    with the real dispatch time (the pre-send check sits between the two).
    """

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
        self.window_free_at = 0.0
        self.set_rate(limit, safety)

    def set_rate(self, limit: float, safety: float = 1.0) -> None:
        self.interval = 1.0 / (limit * safety)
        # Catch-up bursts stay short (20 sends at 1,000/s): Telegram spreads a burst
        # over the time it takes to read it, and a burst read late still counts in
        # the window that our clock has already moved past. A slow rate may still
        # catch up on one missed slot.
        self.max_lag = max(self.base_max_lag, 1.5 * self.interval)
        paced = limit * safety
        # The window's count: the paced rate's, where that leaves at least one send of
        # headroom per second (985 of 1,000: Telegram's window then has room for 15
        # sends of jitter even right after a catch-up burst); else the limit's own
        # (30 of 30/s: 29 would cost the free tier a whole send per second).
        self.per_window = max(1, int(paced) if limit - paced >= 1 else int(limit))
        # The window spans as many slots, less a few ms: stamps are dispatch times,
        # a slot's pre-send check latency after it, and a window of exactly the
        # slots' span held a send back by that latency in every cycle, which added
        # up to lost slots (0.9 % of the free tier). A window at the limit itself
        # drew 429s: Telegram's arrival clock jitters by more than our headroom.
        self.window = max(self.per_window * self.interval - WINDOW_SLACK_S, self.interval)

    def take(self, now: float, wanted: int) -> int:
        """How many sends may go now (up to ``wanted``); reserves their slots."""
        if now < self.next_at or wanted <= 0:
            return 0
        if now - self.last_take > self.idle_after:
            # Idle: an unused bot earns no burst.
            self.next_at = max(self.next_at, now)
        elif now - self.next_at > self.max_lag:
            # A busy loop may catch up on slots missed by up to max_lag, no more.
            self.next_at = now - self.max_lag
        self.last_take = now
        sent = self.sent
        horizon = now - self.window
        while sent and sent[0] <= horizon:
            sent.popleft()
        n = min(
            wanted,
            int((now - self.next_at) / self.interval) + 1,
            self.per_window - len(sent) - self.reserved,
        )
        if n <= 0:
            # Window full: wait for its oldest send to leave it. The slot schedule
            # stays put, so a send held back a few ms here is made up right after
            # (within max_lag) instead of shifting every later slot.
            if sent and len(sent) + self.reserved >= self.per_window:
                self.window_free_at = sent[0] + self.window
            return 0
        self.next_at += n * self.interval
        self.reserved += n
        return n

    def dispatched(self, taken: int, sent: int, t: float) -> None:
        """``sent`` of ``taken`` reserved slots went out at ``t``; the rest come back."""
        self.reserved = max(0, self.reserved - taken)
        if taken > sent:
            self.next_at -= (taken - sent) * self.interval
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
        sent = self.sent
        if 2 * (len(sent) + self.reserved) < self.per_window:
            return  # the window is far from full: when exactly it left cannot matter
        for i in range(len(sent) - 1, max(-1, len(sent) - 2000), -1):
            if sent[i] == stamp:
                sent[i] = t
                return
            if sent[i] < stamp:
                return

    def wait_time(self, now: float) -> float:
        return max(0.0, self.next_at - now, self.window_free_at - now)

    def pause_until(self, t: float) -> None:
        self.next_at = max(self.next_at, t)


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

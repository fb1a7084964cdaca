"""Pacing sends within Telegram's limits: per bot, per private chat, per group chat.

Telegram counts sends in sliding windows, so bursts are what get a bot a 429.
The pacer hands out send slots at fixed intervals of 1/rate and never lets
unused slots pile up (an idle bot does not earn a burst), so any one-second
window holds at most rate sends.
"""

from __future__ import annotations

import time
from collections import deque


class Pacer:
    """Fixed-interval slots, plus a hard sliding one-second window.

    Slots keep sends smooth; a slow event loop may catch up on slots missed by
    up to ``max_lag``, and the window guarantees that even then no one-second
    span holds more than ``rate`` sends.
    """

    def __init__(self, rate: float, max_lag: float = 0.25, idle_after: float = 1.0) -> None:
        self.max_lag = max_lag
        self.idle_after = idle_after
        self.next_at = 0.0
        self.last_take = float("-inf")
        self.sent: deque[float] = deque()
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        # Callers pass the limit times RATE_SAFETY: the window then keeps room for
        # the jitter between our dispatch and Telegram's clock (a window at the real
        # limit drew 429s in the benchmarks).
        self.interval = 1.0 / rate
        self.per_second = max(1, int(rate))

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
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        n = min(
            wanted,
            int((now - self.next_at) / self.interval) + 1,
            self.per_second - len(sent),
        )
        if n <= 0:
            self.next_at = max(self.next_at, sent[0] + 1.0) if sent else self.next_at
            return 0
        self.next_at += n * self.interval
        sent.extend([now] * n)
        return n

    def give_back(self, n: int) -> None:
        """Returns slots reserved for sends that turned out not to happen."""
        for _ in range(min(n, len(self.sent))):
            self.sent.pop()
        self.next_at -= n * self.interval

    def started(self, stamp: float, t: float) -> None:
        """One send reserved at ``stamp`` actually went out at ``t`` (its task ran).

        Telegram counts arrivals: a send delayed by a busy event loop must count
        from when it left, or the next second's sends would bunch up behind it.
        """
        sent = self.sent
        for i in range(len(sent) - 1, max(-1, len(sent) - 2000), -1):
            if sent[i] == stamp:
                sent[i] = t
                return
            if sent[i] < stamp:
                return

    def restamp(self, n: int, t: float) -> None:
        """Moves the last ``n`` reserved sends to ``t``, when they actually went out."""
        sent = self.sent
        for i in range(1, min(n, len(sent)) + 1):
            sent[-i] = t

    def wait_time(self, now: float) -> float:
        return max(0.0, self.next_at - now)

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

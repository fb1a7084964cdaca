"""The worker-wide budget of Telegram requests (``WORKER_CONCURRENCY``), shared by every
bot's sender.

A send takes its slot *before* its pre-send check and gives it back when Telegram has
answered (or when the check stops it). So a checked send never waits for anything,
neither for a slot nor for an HTTP connection (the client has at least as many
connections as there are slots): its request leaves right after the check. When the
slots were counted per bot, two bots could check more sends than the client had
connections, and the extra checked sends waited for a connection, for as long as
Telegram took to answer, and went out after a mute committed meanwhile.

The number of slots also bounds what a crash can duplicate: requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib


class SendSlots:
    """A counter, taken without waiting (``take``) and given back (``give``).

    Not a semaphore: a sender takes as many slots as are free for a whole group at once
    and never blocks in the middle of its pacing loop; it waits with :meth:`wait_free`.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.used = 0
        self._freed: asyncio.Event | None = None

    @property
    def free(self) -> int:
        return self.limit - self.used

    def take(self, n: int) -> int:
        """Takes up to ``n`` slots; returns how many were taken (0 when none is free)."""
        n = max(0, min(n, self.limit - self.used))
        self.used += n
        return n

    def give(self, n: int = 1) -> None:
        self.used = max(0, self.used - n)
        if n > 0 and self._freed is not None:
            self._freed.set()

    async def wait_free(self, timeout: float) -> None:
        """Returns when a slot was given back, or after ``timeout`` seconds."""
        if self.free > 0:
            return
        if self._freed is None:
            self._freed = asyncio.Event()
        self._freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._freed.wait(), timeout)

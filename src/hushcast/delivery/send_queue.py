"""The rows one sender has claimed and not sent yet, and which of them go next.

Transactional rows go before the broadcast rows already buffered. A row whose chat is
not ready (Telegram's per-chat limits, ``ratelimit.ChatLimiter``) waits aside until it
is, and then goes first. A row that comes back (its check failed, a 429 paused the bot,
a migration moved it to a new chat) goes back to the front, so it is the next to be
checked again.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hushcast.delivery.job import Job
from hushcast.delivery.ratelimit import ChatLimiter


@dataclass(order=True)
class _Waiting:
    ready_at: float
    job: Job = field(compare=False)


class SendQueue:
    """Claimed rows in sending order; ``len()`` counts those ready now."""

    def __init__(self, chats: ChatLimiter) -> None:
        self.chats = chats
        self.ready: deque[Job] = deque()
        # Rows whose chat is not ready, by when it will be (a heap).
        self.waiting: list[_Waiting] = []

    def __len__(self) -> int:
        return len(self.ready)

    def add_claimed(self, jobs: Sequence[Job]) -> None:
        """Transactional rows to the front (in their order), broadcast rows to the back."""
        urgent = [j for j in jobs if j.broadcast_id is None]
        self.ready.extendleft(reversed(urgent))
        self.ready.extend(j for j in jobs if j.broadcast_id is not None)

    def put_back(self, jobs: Iterable[Job]) -> None:
        """Rows that did not go, back to the front in their order."""
        self.ready.extendleft(reversed(list(jobs)))

    def put_back_one(self, job: Job) -> None:
        self.ready.appendleft(job)

    def take(self, n: int, now: float) -> list[Job]:
        """Up to ``n`` rows whose chats may get a message at ``now``; each chat's slot is
        reserved at once, so a second row for the same chat in this group waits its turn
        (the sender moves the reservation to the real dispatch time)."""
        group: list[Job] = []
        ready = self.ready
        chats = self.chats
        while ready and len(group) < n:
            job = ready.popleft()
            at = chats.ready_at(job.token, now)
            if at > now:
                heapq.heappush(self.waiting, _Waiting(at, job))
                continue
            chats.record(job.token, now)
            group.append(job)
        return group

    def release_ready(self, now: float) -> None:
        """Rows whose chat is ready again go to the front."""
        waiting = self.waiting
        while waiting and waiting[0].ready_at <= now:
            self.ready.appendleft(heapq.heappop(waiting).job)

    def next_ready_at(self) -> float | None:
        """When the first waiting row's chat is ready; None: no row waits."""
        return self.waiting[0].ready_at if self.waiting else None

    def drain(self) -> list[Job]:
        """Every row held, ready or waiting; the queue is empty after."""
        jobs = list(self.ready)
        jobs.extend(w.job for w in self.waiting)
        self.ready.clear()
        self.waiting = []
        return jobs

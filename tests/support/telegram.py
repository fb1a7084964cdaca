"""What the fake Telegram server saw: every send request with its arrival time and answer."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hushcast.telegram.fake_wire import FakeApiError


@dataclass
class SendEvent:
    arrived: float  # monotonic, when the request reached the fake
    answered: float  # monotonic, when the fake answered (or gave up on) it
    chat: str
    status: int  # HTTP status; -1 for a dropped connection
    retry_after: int | None = None


@dataclass
class RequestLog:
    """Every send request the fake server got, with its arrival time and its answer.

    The fake records only accepted messages; this also sees 429s, 5xx and drops.
    """

    events: list[SendEvent] = field(default_factory=list)  # appended when answered
    arrivals: int = 0  # counted when a request arrives

    @classmethod
    def attach(cls, fake: Any) -> RequestLog:
        log = cls()
        server = fake.server
        for name in ("sendmessage", "sendphoto"):
            original = server._methods[name]

            async def wrapped(request: Any, bot: Any, params: Any, _orig: Any = original) -> Any:
                arrived = time.monotonic()
                log.arrivals += 1
                chat = str(params.get("chat_id"))
                status, retry_after = -1, None
                try:
                    response = await _orig(request, bot, params)
                    status = response.status
                    return response
                except FakeApiError as exc:
                    status = exc.code
                    retry_after = (exc.parameters or {}).get("retry_after")
                    raise
                finally:
                    log.events.append(
                        SendEvent(arrived, time.monotonic(), chat, status, retry_after)
                    )

            server._methods[name] = wrapped
        return log

    def statuses(self) -> Counter[int]:
        return Counter(e.status for e in list(self.events))


def max_per_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of ``times`` in any half-open window of ``window`` seconds."""
    ts = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ts):
        while ts[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best

"""A sender's background database work: claims, planning and outcome flushes.

They run beside the sends, at most one of each kind at a time, so a slow write never
stalls the pacing of the next sends; a chore that fails is reported (once per run of
the same error, ``outbox.RepeatedErrors``) and runs again on the loop's next pass.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine
from typing import Any

from hushcast.delivery.outbox import RepeatedErrors


class Chores:
    """Named background tasks, one per name at a time; a failure is reported to
    ``errors`` under ``label: name``."""

    def __init__(self, errors: RepeatedErrors, label: str) -> None:
        self.errors = errors
        self.label = label
        self.running: dict[str, asyncio.Task[None]] = {}

    def __bool__(self) -> bool:
        return bool(self.running)

    def is_running(self, name: str) -> bool:
        task = self.running.get(name)
        return task is not None and not task.done()

    def start(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        """Runs ``coro`` as the chore ``name`` (the caller checks ``is_running`` first)."""
        task = asyncio.create_task(coro)
        self.running[name] = task
        task.add_done_callback(functools.partial(self._done, name))

    def _done(self, name: str, task: asyncio.Task[None]) -> None:
        if self.running.get(name) is task:
            del self.running[name]
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.errors.report(f"{self.label}: {name}", f"{name} failed", exc)

    async def wait(self) -> None:
        """Until every running chore has ended (their failures are reported, not raised)."""
        if self.running:
            await asyncio.gather(*list(self.running.values()), return_exceptions=True)

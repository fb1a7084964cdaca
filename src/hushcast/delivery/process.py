"""Process set-up of ``hushcast worker``: settings that matter for pacing, signals."""

from __future__ import annotations

import contextlib
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hushcast.core.config import Settings

# This module is imported before the command line (hushcast/__main__.py): it imports
# nothing heavy at its top, so that the stop signals are held within milliseconds.

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_stop_before_start = False


def hold_stop_signals_until_started() -> None:
    """Makes a SIGTERM or SIGINT that comes during start-up (imports, the migration
    check, pool set-up: seconds on a loaded machine) a graceful stop once the worker is
    set up, instead of the default action, which killed the process (exit -15) in the
    middle of it. Called by ``hushcast/__main__.py`` before it imports the command line
    (typer, rich, pydantic, SQLAlchemy: 0.6 s on an idle machine), and again by the
    ``worker`` command for ``python -m hushcast.cli worker``."""

    def remember(signum: int, frame: FrameType | None) -> None:
        global _stop_before_start
        _stop_before_start = True

    for sig in _STOP_SIGNALS:
        signal.signal(sig, remember)


async def run_worker_process(settings: Settings, *, webhooks: bool = False) -> None:
    """``hushcast worker``: runs until SIGTERM or SIGINT, then stops gracefully.
    ``webhooks``: the webhook dispatcher runs here too (by default API processes run it)."""
    import asyncio

    from hushcast.core.collector import settle_after_start_up
    from hushcast.core.db import create_database
    from hushcast.core.migrate import upgrade
    from hushcast.delivery.supervisor import Worker  # here: this module loads first

    db = create_database(settings.database_url, pool_size=settings.db_pool_size)
    upgrade(db)
    # Start-up objects out of the cyclic GC (its full collections over them paused the
    # event loop for 60-80 ms, which bunched sends and lost pacing slots), and young
    # collections rare enough that steady sending meets none (core/collector.py).
    settle_after_start_up()
    # The database threads hand the GIL back to the event loop after 1 ms instead of
    # 5: the loop's dispatch times are what Telegram's flood window counts. (Only in
    # the worker's own process: set for the test suite's process, with its dozen
    # threads, it slowed a SQLite contention test's worker past its deadline.)
    sys.setswitchinterval(0.001)
    worker = Worker(db, settings, run_webhooks=webhooks)
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.stop)
    if _stop_before_start:
        worker.stop()  # run() then returns at once, having sent nothing
    try:
        await worker.run()
    finally:
        db.dispose()

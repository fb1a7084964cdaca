"""Process set-up of ``hushcast worker``: settings that matter for pacing, signals."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys

from hushcast.core.config import Settings
from hushcast.core.db import create_database
from hushcast.delivery.supervisor import Worker


async def run_worker_process(settings: Settings, *, webhooks: bool = False) -> None:
    """``hushcast worker``: runs until SIGTERM or SIGINT, then stops gracefully.
    ``webhooks``: the webhook dispatcher runs here too (by default API processes run it)."""
    import signal

    from hushcast.core.migrate import upgrade

    db = create_database(settings.database_url, pool_size=settings.db_pool_size)
    upgrade(db)
    # Start-up objects (modules, SQLAlchemy metadata, ...) are never garbage: out of
    # the cyclic GC, whose full collections over them paused the event loop for
    # 60-80 ms, which bunched sends and lost pacing slots.
    gc.freeze()
    # The database threads hand the GIL back to the event loop after 1 ms instead of
    # 5: the loop's dispatch times are what Telegram's flood window counts. (Only in
    # the worker's own process: set for the test suite's process, with its dozen
    # threads, it slowed a SQLite contention test's worker past its deadline.)
    sys.setswitchinterval(0.001)
    worker = Worker(db, settings, run_webhooks=webhooks)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        db.dispose()

"""The cyclic garbage collector's settings for hushcast's long-running processes."""

from __future__ import annotations

import gc

# Net allocations of tracked objects between two young collections (CPython's default
# is 700). A worker keeps tens of thousands of objects alive at once (claimed rows, 256
# requests in flight, their frames and buffers), so at 700 the collector ran about 270
# young and 25 middle collections a second, each walking what was in flight: 33 us of
# CPU a send, 11-13 % of the worker's (raw benchmark, 3,000 sends/s). What sending
# creates and frees evens out well within 50,000 (over a 40 s raw run the count stayed
# between 22,000 and 38,000), so steady sending meets no collection; true cycles (about
# 110 objects a second, SQLAlchemy's) still bring one every several minutes, of at most
# 50,000 objects (a young collection at 26,000 took 5.6 ms).
YOUNG_THRESHOLD = 50_000


def settle_after_start_up() -> None:
    """Called once a process has loaded what it keeps (modules, metadata, settings):
    those are never garbage, so full collections skip them (``gc.freeze``: they paused
    the event loop for 60-80 ms), and young collections run per 50,000 net allocations
    instead of 700."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)

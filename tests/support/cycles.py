"""Finding reference cycles that hushcast's own code leaves to the garbage collector.

Code on the send path runs thousands of times a second in the worker: what only the
cycle collector can free makes it run, and each run walks everything in flight
(BENCHMARKS.md, round 13: a recursive closure per merge tag)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType, CoroutineType, FrameType, FunctionType
from typing import Any

import hushcast

_PACKAGE = os.path.dirname(hushcast.__file__) + os.sep


def _ours(code: CodeType) -> bool:
    """Code of the hushcast package (not of the tests, wherever the checkout is)."""
    return code.co_filename.startswith(_PACKAGE)


def _describe(obj: Any) -> str | None:
    """What ``obj`` is, if hushcast's code made it (else None)."""
    if isinstance(obj, FunctionType):
        return f"function {obj.__qualname__}" if _ours(obj.__code__) else None
    if isinstance(obj, FrameType):
        return f"frame {obj.f_code.co_qualname}" if _ours(obj.f_code) else None
    if isinstance(obj, CoroutineType):
        return f"coroutine {obj.__qualname__}" if _ours(obj.cr_code) else None
    module = getattr(type(obj), "__module__", "") or ""
    return f"{module}.{type(obj).__qualname__}" if module.startswith("hushcast") else None


@contextmanager
def cyclic_garbage() -> Iterator[list[str]]:
    """Collects what the block leaves in reference cycles; the list, filled when the
    block ends, names those of hushcast's code (functions, frames, coroutines,
    instances of its classes). The collector is off meanwhile, so nothing is freed
    behind the count's back."""
    found: list[str] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(d for d in map(_describe, gc.garbage) if d is not None)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

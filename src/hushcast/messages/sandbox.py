"""Renders that outgrow the in-process budget run here, in separate processes.

The evaluator already bounds every render (hushcast.messages.velocity); the sandbox
is the second wall, for what no rule foresaw. Each sandbox process:

* is started with the ``spawn`` method (a clean interpreter that imports only the
  template modules: no database engine, no settings, no secrets in its memory) and
  clears its environment to ``PATH`` alone before it serves;
* has an address-space limit (``RLIMIT_AS``), so a memory bomb ends in a
  MemoryError or the process' death, never the server's;
* is killed when one render takes longer than ``timeout_s`` (wall time), and a
  fresh one takes its place.

The caller awaits a render from a thread, so the event loop stays free while a
hostile template burns its budget elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import threading
from collections import OrderedDict
from multiprocessing.connection import Connection
from typing import Any

from hushcast.messages.template_values import FULL, BudgetExceeded, TemplateError

log = logging.getLogger("hushcast.sandbox")

DEFAULT_PROCESSES = 1
DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024
DEFAULT_TIMEOUT_S = 2.0
_CACHE_SIZE = 64

# What a child answers: ("ok", RenderedMessage) | ("budget", text) | ("error", text).
_Reply = tuple[str, Any]


def _serve(conn: Connection, memory_bytes: int) -> None:  # pragma: no cover - child process
    """The child's loop: compile (cached by spec), render within FULL, answer."""
    # Nothing of the server's environment (database URL, secret key) stays readable.
    path = os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.clear()
    os.environ["PATH"] = path
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    from hushcast.messages.render import MessageTemplate

    cache: OrderedDict[Any, MessageTemplate | TemplateError] = OrderedDict()
    while True:
        try:
            spec, contact, json_param = conn.recv()
        except (EOFError, OSError):
            return
        reply: _Reply
        try:
            template = cache.get(spec)
            if template is None:
                try:
                    template = MessageTemplate.from_spec(spec)
                except TemplateError as exc:
                    template = exc
                cache[spec] = template
                if len(cache) > _CACHE_SIZE:
                    cache.popitem(last=False)
            if isinstance(template, TemplateError):
                raise template
            template.budget_failures = 0  # the parent keeps that count
            reply = ("ok", template.render(contact, json_param, FULL))
        except BudgetExceeded as exc:
            reply = ("budget", str(exc))
        except TemplateError as exc:
            reply = ("error", str(exc))
        except MemoryError:
            reply = ("budget", "the template needed too much memory")
        except BaseException as exc:  # noqa: BLE001 - answer, then go on serving
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


class _Child:
    def __init__(self, memory_bytes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve,
            args=(child_conn, memory_bytes),
            name="hushcast-render-sandbox",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self.renders = 0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()


class RenderSandbox:
    """A few sandbox processes; :meth:`render` takes an idle one for one render."""

    def __init__(
        self,
        processes: int = DEFAULT_PROCESSES,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.memory_bytes = memory_bytes
        self.timeout_s = timeout_s
        self._idle: queue.Queue[_Child | None] = queue.Queue()
        for _ in range(max(1, processes)):
            self._idle.put(None)  # started on first use
        self.renders = 0
        self.kills = 0

    def render_blocking(self, spec: Any, contact: Any, json_param: str | None) -> Any:
        """Renders in an idle sandbox process; blocks the calling thread (not a loop)."""
        child = self._idle.get()
        try:
            if child is None or not child.process.is_alive():
                if child is not None:
                    child.kill()
                child = None
                child = _Child(self.memory_bytes)
            kind, value = self._exchange(child, (spec, contact, json_param))
            if kind == "dead":
                child = None
            self.renders += 1
        finally:
            self._idle.put(child)
        if kind == "ok":
            return value
        if kind in ("budget", "dead"):
            raise BudgetExceeded(value)
        raise TemplateError(value)

    def _exchange(self, child: _Child, request: Any) -> tuple[str, Any]:
        """One request and its reply; kills the child past the timeout or on a broken pipe."""
        try:
            child.conn.send(request)
            # The first render of a child includes its start-up (imports).
            startup = 10.0 if child.renders == 0 else 0.0
            if child.conn.poll(self.timeout_s + startup):
                kind, value = child.conn.recv()
                child.renders += 1
                return kind, value
            message = f"the template took longer than {self.timeout_s:g} s to render"
        except (EOFError, OSError) as exc:
            log.warning("render sandbox process died: %s", type(exc).__name__)
            message = "the template needed more memory than allowed"
        self.kills += 1
        child.kill()
        return "dead", message

    async def render(self, spec: Any, contact: Any, json_param: str | None) -> Any:
        return await asyncio.to_thread(self.render_blocking, spec, contact, json_param)

    def close(self) -> None:
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                return
            if child is not None:
                child.kill()


_default: RenderSandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> RenderSandbox:
    """The process's sandbox, sized by the settings (``HUSHCAST_RENDER_*``)."""
    global _default
    with _default_lock:
        if _default is None:
            from hushcast.core.config import Settings

            settings = Settings()
            _default = RenderSandbox(
                processes=settings.render_processes,
                memory_bytes=settings.render_memory_mb << 20,
                timeout_s=settings.render_timeout_s,
            )
        return _default

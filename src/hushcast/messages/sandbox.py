"""Renders that outgrow the in-process budget run here, in separate processes.

The evaluator already bounds every render (hushcast.messages.velocity); the sandbox
is the second wall, for what no rule foresaw. Each sandbox process:

* is a fresh interpreter (``python -m hushcast.messages.sandbox``, started with
  ``subprocess``: no fork of the server's memory) that imports only the template
  modules: no database engine, no settings, no keys in its memory;
* gets an environment of ``PATH`` and ``PYTHONPATH`` only (no database URL, no secret);
* sets an address-space limit (``RLIMIT_AS``) on itself before it reads any request,
  so a memory bomb ends in a MemoryError or the process' death, never the server's;
* is killed when one render takes longer than ``timeout_s`` (wall time), and a
  fresh one takes its place.

Requests and replies are JSON lines, never pickles: a process that ran hostile code
can send nothing back but data, which the server checks before it uses it.
The caller awaits a render from a thread, so the event loop stays free while a
hostile template burns its budget elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import IO, Any

from hushcast.messages.template_values import FULL, BudgetExceeded, TemplateError

log = logging.getLogger("hushcast.sandbox")

DEFAULT_PROCESSES = 1
DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024
DEFAULT_TIMEOUT_S = 2.0
_CACHE_SIZE = 64
_STARTUP_S = 10.0  # a new process' first render includes its imports
_MAX_REPLY_BYTES = 1 << 20


def _request(spec: Any, contact: Any, json_param: str | None) -> bytes:
    body = {
        "spec": dataclasses.asdict(spec),
        "contact": dataclasses.asdict(contact) if contact is not None else None,
        "json_param": json_param,
    }
    return json.dumps(body, default=str, separators=(",", ":")).encode() + b"\n"


def _rendered_from_reply(reply: Any) -> Any:
    """The server's RenderedMessage from a child's reply, checked field by field."""
    from hushcast.messages.render import RenderedMessage

    if not isinstance(reply, dict):
        raise TemplateError("the renderer answered nonsense")
    kind = reply.get("kind")
    if kind in ("budget", "error"):
        message = reply.get("message")
        text = message[:500] if isinstance(message, str) else "the template failed"
        raise (BudgetExceeded if kind == "budget" else TemplateError)(text)
    body, image, buttons = reply.get("text"), reply.get("image_source"), reply.get("buttons")
    if (
        kind != "ok"
        or not isinstance(body, str)
        or not (image is None or isinstance(image, str))
        or not isinstance(buttons, list)
        or not all(
            isinstance(b, dict)
            and set(b) == {"text", "url"}
            and all(isinstance(v, str) for v in b.values())
            for b in buttons
        )
    ):
        raise TemplateError("the renderer answered nonsense")
    return RenderedMessage(text=body, image_source=image, buttons=buttons)


# --------------------------------------------------------------------------------------
# The child.


def _serve(memory_bytes: int) -> None:  # pragma: no cover - runs in the child process
    """Reads requests from stdin, renders within FULL, writes replies to stdout."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    from hushcast.messages.render import ContactData, MessageTemplate, TemplateSpec

    cache: OrderedDict[Any, MessageTemplate | TemplateError] = OrderedDict()
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        reply: dict[str, Any]
        try:
            request = json.loads(line)
            raw = request["spec"]
            spec = TemplateSpec(
                raw["text"],
                raw["image_source"],
                tuple((str(t), str(u)) for t, u in raw["buttons"]),
                raw["message_name"],
            )
            contact = ContactData(**request["contact"]) if request["contact"] else None
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
            template.budget_failures = 0  # the server keeps that count
            rendered = template.render(contact, request["json_param"], FULL)
            reply = {
                "kind": "ok",
                "text": rendered.text,
                "image_source": rendered.image_source,
                "buttons": rendered.buttons,
            }
        except BudgetExceeded as exc:
            reply = {"kind": "budget", "message": str(exc)}
        except TemplateError as exc:
            reply = {"kind": "error", "message": str(exc)}
        except MemoryError:
            reply = {"kind": "budget", "message": "the template needed too much memory"}
        except BaseException as exc:  # noqa: BLE001 - answer, then go on serving
            reply = {"kind": "error", "message": f"{type(exc).__name__}: {exc}"[:500]}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


# --------------------------------------------------------------------------------------
# The server's side.


class _Child:
    def __init__(self, memory_bytes: int) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "hushcast.messages.sandbox", str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self.renders = 0
        self._buffer = b""

    def exchange(self, request: bytes, timeout_s: float) -> Any:
        """Sends one request and reads its reply line; raises TimeoutError or EOFError."""
        stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]
        try:
            stdin.write(request)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise EOFError from exc
        deadline = time.monotonic() + timeout_s
        fd = stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError
            self._buffer += chunk
            if len(self._buffer) > _MAX_REPLY_BYTES:
                raise EOFError
        line, _, self._buffer = self._buffer.partition(b"\n")
        self.renders += 1
        return json.loads(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()


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
        request = _request(spec, contact, json_param)
        child = self._idle.get()
        try:
            if child is None or not child.alive():
                if child is not None:
                    child.kill()
                child = None
                child = _Child(self.memory_bytes)
            timeout = self.timeout_s + (_STARTUP_S if child.renders == 0 else 0.0)
            try:
                reply: Any = child.exchange(request, timeout)
            except TimeoutError:
                reply = {
                    "kind": "budget",
                    "message": f"the template took longer than {self.timeout_s:g} s to render",
                }
            except (EOFError, ValueError):
                log.warning("render sandbox process died or answered garbage")
                reply = {
                    "kind": "budget",
                    "message": "the template needed more memory than allowed",
                }
            if not isinstance(reply, dict) or reply.get("kind") not in ("ok", "error"):
                # Over time, dead, or any doubt: this process is not used again.
                self.kills += 1
                child.kill()
                child = None
            self.renders += 1
        finally:
            self._idle.put(child)
        return _rendered_from_reply(reply)

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


if __name__ == "__main__":  # pragma: no cover - the child process
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_BYTES)

"""A real HTTP receiver for the tests: verifies every signature, fails the first N
calls (500, or a hang past the timeout), then accepts and keeps what arrived."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hushcast.webhooks.signing import HEADER, verify


class Receiver:
    def __init__(self, secret: str = "", fail_first: int = 0, hang_s: float = 0.0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.hang_s = hang_s
        self.calls = 0
        self.bodies: list[Any] = []
        self.bad_signatures = 0
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.calls += 1
                    failing = receiver.calls <= receiver.fail_first
                    receiver.headers.append(dict(self.headers))
                    signed = bool(receiver.secret) and verify(
                        receiver.secret, raw, self.headers.get(HEADER, "")
                    )
                    if not signed:
                        receiver.bad_signatures += 1
                if failing and receiver.hang_s:
                    time.sleep(receiver.hang_s)
                status = 500 if failing or not signed else receiver.status
                if status == 200:
                    with receiver.lock:
                        receiver.bodies.append(json.loads(raw))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[dict[str, Any]]:
        """Every event accepted, in arrival order (hushcast or yespo bodies)."""
        with self.lock:
            out: list[dict[str, Any]] = []
            for body in self.bodies:
                out.extend(body if isinstance(body, list) else body["events"])
            return out

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A signature-checking webhook receiver on 127.0.0.1, stopped after the test (a
    conftest imports this fixture to offer it)."""
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()

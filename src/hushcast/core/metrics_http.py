"""Who may read /metrics, and the separate metrics listener.

- ``HUSHCAST_METRICS_BIND`` (``host:port``) set: metrics are served on that address only,
  by a small HTTP server in this process; the public port answers 404 at /metrics.
- otherwise ``HUSHCAST_METRICS_TOKEN`` set: served on the public port at /metrics to
  ``Authorization: Bearer <token>`` only (401 without it).
- neither: not served at all (404). A scraper must be configured on purpose.

When both are set the token is required on the metrics address too.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hushcast.core.config import Settings
from hushcast.core.crypto import same

log = logging.getLogger("hushcast.metrics")


def served_publicly(settings: Settings) -> bool:
    return not settings.metrics_bind and bool(settings.metrics_token)


def token_ok(token: str | None, authorization: str | None) -> bool:
    """True when no token is required, or the header is ``Bearer <token>``."""
    if not token:
        return True
    if not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and same(value.strip(), token)


def parse_bind(bind: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` (ValueError otherwise)."""
    host, sep, port = bind.strip().rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit():
        raise ValueError(f"HUSHCAST_METRICS_BIND must be host:port, not {bind!r}")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"HUSHCAST_METRICS_BIND port out of range: {bind!r}")
    return host.strip("[]"), number


def render(refresh: Callable[[], None] | None = None) -> bytes:
    """The exposition text, after ``refresh`` (which updates gauges read from the database)."""
    if refresh is not None:
        try:
            refresh()
        except Exception:  # noqa: BLE001 - a metrics scrape never fails on the database
            log.warning("metrics: database unavailable")
    return generate_latest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    token: str | None
    refresh: Callable[[], None] | None


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        if path != "/metrics":
            self._answer(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        if not token_ok(self.server.token, self.headers.get("Authorization")):
            self._answer(
                401,
                b"Unauthorized\n",
                "text/plain; charset=utf-8",
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
            return
        self._answer(200, render(self.server.refresh), CONTENT_TYPE_LATEST)

    def _answer(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # scrapes are not worth a log line each


class MetricsListener:
    """/metrics on its own address, in a thread of this process."""

    def __init__(
        self, bind: str, token: str | None, refresh: Callable[[], None] | None = None
    ) -> None:
        host, port = parse_bind(bind)
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, port), _Handler)
        self.server.token = token
        self.server.refresh = refresh
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="hushcast-metrics", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> MetricsListener:
        self.thread.start()
        log.info("metrics served on http://%s:%d/metrics", *self.address)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

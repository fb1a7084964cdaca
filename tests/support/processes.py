"""Spawning the service's processes and stopping them: ``hushcast worker``, ``hushcast serve``,
the fake Telegram server. Used by the tests, ``bench/stack.py`` and ``scripts/``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx

from tests.support.waiting import wait_for


def hushcast_command(*args: str) -> list[str]:
    """``hushcast ARGS`` run by this interpreter (``python -m hushcast``: the same
    ``hushcast/__main__.py`` the console script runs)."""
    return [sys.executable, "-m", "hushcast", *args]


def worker_command(log_level: str = "warning", *, webhooks: bool = False) -> list[str]:
    """``hushcast worker`` (with ``--webhooks``: it also POSTs webhook events)."""
    return hushcast_command(
        "worker", "--log-level", log_level, *(["--webhooks"] if webhooks else [])
    )


def api_command(port: int, log_level: str = "warning", *extra: str) -> list[str]:
    """``hushcast serve --no-worker`` on ``port`` (``extra``: more options)."""
    return hushcast_command(
        "serve", "--no-worker", "--port", str(port), "--log-level", log_level, *extra
    )


def fake_server_command(port: int, *, accept_any_token: bool = False) -> list[str]:
    """The fake Telegram server (``python -m hushcast.telegram.fake_server``) on ``port``."""
    args = [sys.executable, "-m", "hushcast.telegram.fake_server", "--port", str(port)]
    return args + (["--accept-any-token"] if accept_any_token else [])


def subprocess_env(db_url: str, fake_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HUSHCAST_DATABASE_URL=db_url, HUSHCAST_TELEGRAM_API_URL=fake_url)
    env.update(extra)
    return env


def start_worker(
    db_url: str,
    fake_url: str,
    *,
    lease_s: float = 1.0,
    poll_s: float = 0.05,
    log: Any = None,
    stdout: Any = subprocess.DEVNULL,
    webhooks: bool = False,
    webhook_lease_s: float | None = None,
) -> subprocess.Popen[bytes]:
    """``hushcast worker``; its warnings and errors go to ``log`` (default: our stderr,
    which pytest shows for a failing test). ``webhooks``: it runs the webhook dispatcher
    too, holding a webhook for ``webhook_lease_s`` (default: the setting's 30 s)."""
    extra = {} if webhook_lease_s is None else {"HUSHCAST_WEBHOOK_LEASE_S": str(webhook_lease_s)}
    env = subprocess_env(
        db_url,
        fake_url,
        HUSHCAST_WORKER_LEASE_S=str(lease_s),
        HUSHCAST_WORKER_POLL_S=str(poll_s),
        **extra,
    )
    return subprocess.Popen(worker_command(webhooks=webhooks), env=env, stdout=stdout, stderr=log)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_api(
    db_url: str,
    fake_url: str,
    port: int,
    *,
    log: Any = subprocess.DEVNULL,
    extra: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """``hushcast serve --no-worker`` on ``port``; see wait_api."""
    return subprocess.Popen(
        api_command(port, "warning", *extra),
        env=subprocess_env(db_url, fake_url, HUSHCAST_RATE_LIMIT_PER_KEY="100000"),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


class ApiExited(AssertionError):
    """The API process ended before it answered (e.g. its port was taken meanwhile)."""


def wait_api(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``/healthz`` on ``port`` answers; with ``proc``, ApiExited at once if that
    process has ended instead of waiting out the timeout."""

    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise ApiExited(f"the API on port {port} exited with {proc.returncode}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, interval=0.05)


def ensure_api(
    proc: subprocess.Popen[bytes],
    port: int,
    db_url: str,
    fake_url: str,
    attempts: int = 3,
    extra: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[bytes], int]:
    """``proc`` (spawned by spawn_api on ``port``) once it answers. free_port's port can
    be taken by another process before the API binds it (parallel test processes start
    servers too): then the API exits, and another is started on a new port."""
    for _ in range(attempts - 1):
        try:
            wait_api(port, proc)
            return proc, port
        except ApiExited:
            port = free_port()
            proc = spawn_api(db_url, fake_url, port, extra=extra)
    wait_api(port, proc)
    return proc, port

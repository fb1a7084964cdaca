"""Test helpers: run the fake Telegram server in a background thread.

``FakeTelegramThread`` owns its own event loop, so synchronous tests, other event loops and
subprocesses can all talk to the fake over real HTTP (``thread.base_url``).

Installing the package gives every pytest suite a ``fake_telegram`` fixture (function
scoped) through the plugin ``hushcast.telegram.pytest_plugin``; this module's fixture of the
same name can still be imported into a conftest::

    from hushcast.telegram.testing import fake_telegram  # noqa: F401

It yields a started :class:`FakeTelegramThread` with :data:`TEST_BOT_TOKEN` registered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.fake_server import FakeTelegramServer

__all__ = [
    "TEST_BOT_ID",
    "TEST_BOT_TOKEN",
    "TEST_BOT_USERNAME",
    "FakeTelegramThread",
    "fake_telegram",
]

TEST_BOT_ID = 123456789
TEST_BOT_TOKEN = f"{TEST_BOT_ID}:AAHushcastTestToken_0123456789abcdef"
TEST_BOT_USERNAME = "hushcast_test_bot"

T = TypeVar("T")


class FakeTelegramThread:
    """A :class:`FakeTelegramServer` running in a daemon thread with its own event loop."""

    def __init__(
        self,
        config: FakeTelegramConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.server = FakeTelegramServer(config)
        self.host = host
        self.port = port
        self.base_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> str:
        if self._thread is not None:
            raise RuntimeError("already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self.base_url = loop.run_until_complete(self.server.start(self.host, self.port))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.server.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("fake Telegram server did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            self._loop = None
            raise failure[0]
        assert self.base_url is not None
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        self._thread = None
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = None

    def __enter__(self) -> FakeTelegramThread:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers (run on the server's loop) -------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("fake Telegram server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return func(*args, **kwargs)

        return self._run(call())

    def messages(self, chat_id: str | int | None = None) -> list[dict[str, Any]]:
        """Accepted messages (optionally for one chat), oldest first."""
        result: list[dict[str, Any]] = self._call(self.server.messages_for, chat_id)
        return result

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self._call(lambda: self.server.stats)
        return result

    def configure(self, **fields: Any) -> None:
        """Partial config update, e.g. ``configure(global_rate=5, blocked={"42"})``."""
        self._call(self.server.configure, **fields)

    def clear(self) -> None:
        self._call(self.server.clear)

    def reset_config(self) -> None:
        """Back to the default config (limits, latency, faults)."""
        self._call(setattr, self.server, "config", FakeTelegramConfig())

    def register_bot(
        self, token: str, id: int, username: str, first_name: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            self.server.register_bot, token, id, username, first_name
        )
        return result

    def inject_update(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(self.server.inject_update, token, update)
        return result


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramThread]:
    """A started fake Telegram server (own thread + loop) with TEST_BOT_TOKEN registered."""
    thread = FakeTelegramThread()
    thread.server.register_bot(TEST_BOT_TOKEN, TEST_BOT_ID, TEST_BOT_USERNAME, "Hushcast Test Bot")
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()

"""pytest plugin: a ``fake_telegram`` fixture for your own test suite.

Installing hushcast registers this module under the ``pytest11`` entry point, so any test
can ask for ``fake_telegram`` without a conftest:

    def test_my_bot_says_hello(fake_telegram):
        my_bot = MyBot(token="123:abc", api_url=fake_telegram.base_url)
        my_bot.greet(chat_id=42)
        assert [m["text"] for m in fake_telegram.messages(42)] == ["Hello!"]

The fixture is a fresh fake Bot API server per test, in a thread of the test process, on a
free port: it accepts any ``<digits>:<secret>`` token (``fake_telegram.configure(
accept_any_token=False)`` makes it strict) and enforces Telegram's flood limits. See
docs/fake-telegram.md for the rest of its API (faults, latency, blocked chats, updates).
A conftest that defines its own ``fake_telegram`` fixture wins over this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.testing import (
    TEST_BOT_ID,
    TEST_BOT_TOKEN,
    TEST_BOT_USERNAME,
    FakeTelegramThread,
)

__all__ = ["fake_telegram"]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramThread]:
    """A started fake Telegram Bot API server; ``.base_url`` is where to point your bot."""
    thread = FakeTelegramThread(FakeTelegramConfig(accept_any_token=True))
    thread.server.register_bot(TEST_BOT_TOKEN, TEST_BOT_ID, TEST_BOT_USERNAME, "Hushcast Test Bot")
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()

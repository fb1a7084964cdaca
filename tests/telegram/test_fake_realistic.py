"""The fake server's realistic mode: 429s with real Telegram's long retry_after, and
arrival jitter."""

from __future__ import annotations

from typing import Any

import httpx

from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.testing import TEST_BOT_ID, TEST_BOT_TOKEN, FakeTelegramThread


def send(base: str, chat: int) -> Any:
    r = httpx.post(
        f"{base}/bot{TEST_BOT_TOKEN}/sendMessage", json={"chat_id": chat, "text": "x"}, timeout=10
    )
    return r.json()


def test_realistic_429s_ask_for_5_to_30_seconds() -> None:
    with FakeTelegramThread(FakeTelegramConfig(global_rate=2, realistic=True)) as fake:
        fake.register_bot(TEST_BOT_TOKEN, TEST_BOT_ID, "t_bot")
        assert fake.base_url is not None
        answers = [send(fake.base_url, 100 + i) for i in range(8)]
    limited = [a for a in answers if not a["ok"]]
    assert limited and all(a["error_code"] == 429 for a in limited)
    assert all(5 <= a["parameters"]["retry_after"] <= 30 for a in limited)


def test_arrival_jitter_is_a_config_field() -> None:
    config = FakeTelegramConfig()
    config.update({"arrival_jitter_ms": "12.5", "realistic": "true"})
    assert config.arrival_jitter_ms == 12.5 and config.realistic is True
    assert config.to_dict()["arrival_jitter_ms"] == 12.5

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.receiver import receiver  # noqa: F401  (the fixture)
from tests.support.updates import RelayEndpoint


@pytest.fixture(autouse=True)
def _quick_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    # The relay endpoint runs on 127.0.0.1; its retries and the long poll are quick here.
    monkeypatch.setenv("HUSHCAST_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("HUSHCAST_UPDATES_RELAY_BACKOFF_SCALE", "0.05")
    monkeypatch.setenv("HUSHCAST_UPDATES_IDLE_S", "0.05")
    monkeypatch.setenv("HUSHCAST_UPDATES_POLL_TIMEOUT_S", "1")


@pytest.fixture
def relay() -> Iterator[RelayEndpoint]:
    endpoint = RelayEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()

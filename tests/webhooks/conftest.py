from __future__ import annotations

import pytest

from tests.support.receiver import receiver  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def _allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    # The receivers run on 127.0.0.1; retries are quick in the tests.
    monkeypatch.setenv("HUSHCAST_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("HUSHCAST_WEBHOOK_BACKOFF_BASE_S", "0.2")
    monkeypatch.setenv("HUSHCAST_WEBHOOK_BACKOFF_MAX_S", "0.5")

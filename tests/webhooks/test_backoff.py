"""The retry schedule of a failing receiver (a pure function): Yespo's 1, 2, 4, 8 ...
minutes, at most once an hour."""

from __future__ import annotations

from hushcast.webhooks.config import WebhookSettings
from hushcast.webhooks.dispatcher import backoff_s


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    # The defaults (the test environment shortens them through HUSHCAST_WEBHOOK_*).
    defaults = {k: f.default for k, f in WebhookSettings.model_fields.items()}
    cfg = WebhookSettings(
        backoff_base_s=defaults["backoff_base_s"],
        backoff_max_s=defaults["backoff_max_s"],
        retry_window_s=defaults["retry_window_s"],
    )
    assert [backoff_s(n, cfg) for n in range(1, 10)] == [
        60.0,
        120.0,
        240.0,
        480.0,
        960.0,
        1920.0,
        3600.0,
        3600.0,
        3600.0,
    ]
    # Retried for at least 24 hours before the events are marked failed.
    assert cfg.retry_window_s >= 24 * 3600
    assert backoff_s(0, cfg) == 60.0 and backoff_s(10_000, cfg) == 3600.0

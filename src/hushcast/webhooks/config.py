"""Webhook settings, from the environment with the prefix ``HUSHCAST_WEBHOOK_``."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUSHCAST_WEBHOOK_", extra="ignore")

    # Allow loopback, link-local and private targets (tests, a receiver on the same host).
    allow_private: bool = False
    # A receiver that does not answer within this is a failure (retried).
    timeout_s: float = 10.0
    # Events per POST.
    batch_size: int = 100
    # Retries: 1, 2, 4, 8 ... minutes, at most one an hour, for at least 24 hours;
    # then the events are marked FAILED.
    backoff_base_s: float = 60.0
    backoff_max_s: float = 3600.0
    retry_window_s: float = 86400.0
    # The dispatcher looks for work this often when idle.
    poll_s: float = 0.25
    # A dispatcher serving a webhook holds it this long (renewed per batch).
    lease_s: float = 30.0
    # How often timed mutes that ended are looked for ("expired" events).
    expiry_scan_s: float = 1.0
    # The previous secret still signs this long after a rotation.
    rotation_overlap_s: float = 86400.0


def get_webhook_settings() -> WebhookSettings:
    return WebhookSettings()

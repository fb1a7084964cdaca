"""Update settings, from the environment with the prefix ``HUSHCAST_UPDATES_``."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class UpdatesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUSHCAST_UPDATES_", extra="ignore")

    # getUpdates long-poll timeout; kept below the lease so the lease is renewed in time.
    poll_timeout_s: float = 25.0
    # How often the worker looks for stored updates to apply or relay when idle.
    idle_s: float = 0.2
    # A relay endpoint that does not answer within this is a failure (retried).
    relay_timeout_s: float = 10.0
    # Multiplies the relay's retry pauses (1 s, 2 s, 5 s ... 15 min); tests shorten them.
    relay_backoff_scale: float = 1.0
    # The updates lease: another worker takes the bot's updates over after this long.
    lease_s: float = 30.0
    # Deep links (POST /v1/apps/{uuid}/links) are valid this long.
    link_ttl_s: int = 7 * 86400


def get_updates_settings() -> UpdatesSettings:
    return UpdatesSettings()

"""Settings, read from the environment with the prefix ``HUSHCAST_``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUSHCAST_", extra="ignore")

    database_url: str = "sqlite:///./var/hushcast.db"
    telegram_api_url: str = "https://api.telegram.org"
    telegram_timeout_s: float = 30.0
    # Public base URL used for click-tracking links written into messages.
    public_url: str = "http://127.0.0.1:8000"
    # Rewrite http(s) button links to signed /c/ redirects that record clicks.
    click_tracking: bool = True
    # Secret used to sign click links and dashboard sessions; generated per
    # database on first start when not given (stored in the settings table).
    secret_key: str | None = None
    # The secret used before a rotation: signatures made with it (dashboard sessions,
    # CSRF tokens, click links) are still accepted; new ones use secret_key. Remove it
    # once the grace period is over.
    secret_key_previous: str | None = None
    # Dashboard sessions end after this many minutes without a request (and at the
    # latest 12 hours after sign-in).
    session_idle_minutes: int = Field(default=60, ge=1, le=12 * 60)
    # /metrics (core/metrics_http.py): served on this host:port only, by a separate
    # listener; else on the public port to "Authorization: Bearer <metrics_token>"; with
    # neither set it is not served. The token is required wherever it is set.
    metrics_token: str | None = None
    metrics_bind: str | None = None
    # Also count messages and Telegram 429s per bot username (names tenants' bots: only
    # for single-tenant instances).
    metrics_bot_labels: bool = False
    # Where the first start writes the default organisation's API key when stdout is not a
    # terminal (created once, mode 0600; on a terminal the key is printed instead).
    initial_key_file: str = "./var/initial-api-key"
    # Most database connections per process (PostgreSQL), opened when needed, then kept.
    db_pool_size: int = 40
    # Largest accepted request body, in bytes.
    max_body_bytes: int = 5 * 1024 * 1024
    # Per-API-key request limit (requests per second), as Yespo's default.
    rate_limit_per_key: float = 200.0
    # Worker tuning.
    worker_batch_size: int = 1000
    worker_lease_s: float = 30.0
    worker_poll_s: float = 0.2
    # Wake the worker as soon as work is committed (LISTEN/NOTIFY on PostgreSQL, PRAGMA
    # data_version on SQLite); polling every worker_poll_s stays as the fallback.
    worker_wakeup: bool = True
    # How often a worker on SQLite reads PRAGMA data_version to notice commits.
    worker_wakeup_check_s: float = 0.01
    worker_max_attempts: int = 5
    # Telegram requests in flight per worker, all bots together (delivery/slots.py).
    worker_concurrency: int = 256
    # A pre-send check is trusted this long: a send still not out this long after its
    # check began is checked again first, so a mute stops it (docs/reliability.md).
    worker_check_window_s: float = 0.1
    # A mute (API or dashboard) of a bot a worker is sending for answers only after this
    # long, so a send checked just before the mute cannot reach Telegram after the
    # answer (mute/fence.py). Unset: the check window plus 50 ms.
    mute_fence_s: float | None = None
    # Send at this fraction of each Telegram limit, leaving room for jitter.
    rate_safety: float = 0.985
    # Recipients queued per planning transaction.
    plan_batch_size: int = 50_000
    # Template renders past the in-process budget run in sandbox processes:
    # how many, their address-space limit, and the wall time before one is killed.
    render_processes: int = 1
    render_memory_mb: int = 1024
    render_timeout_s: float = 2.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table

from hushcast.core.db import BigId, metadata

# Keyed by (app, token), not by a registered token row, so that a mute that
# arrives before the token is registered is kept and applies once it is.
mutes = Table(
    "mutes",
    metadata,
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(64), primary_key=True),
    Column("muted_until", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Webhooks' "expired" events find the timed mutes that just ended (migration 0003w).
    Index("ix_mutes_muted_until", "muted_until"),
)

mute_events = Table(
    "mute_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("token", String(64), nullable=False),
    Column("action", String(8), nullable=False),  # "mute" | "unmute"
    Column("old_muted_until", DateTime, nullable=True),
    Column("new_muted_until", DateTime, nullable=True),
    Column("api_key_id", BigId, nullable=True),
    Column("at", DateTime, nullable=False),
    # Who, when not an API key: "dashboard" or "dialog-guard" (mute/actors.py).
    Column("source", String(32), nullable=True),
    Index("ix_mute_events_app_token", "app_id", "token"),
)

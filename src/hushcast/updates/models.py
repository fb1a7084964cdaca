from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hushcast.core.db import BigId, metadata

# One row per bot that has ever had updates configured (mode "off" keeps the row).
update_settings = Table(
    "update_settings",
    metadata,
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("mode", String(10), nullable=False),  # "off" | "webhook" | "polling"
    Column("relay_url", String(2000), nullable=True),
    # Secrets: never returned by the API.
    Column("relay_secret", String(256), nullable=True),
    Column("webhook_secret", String(64), nullable=True),
    Column("dialog_guard", Boolean, nullable=False, default=False),
    Column("dialog_guard_seconds", Integer, nullable=False, default=1800),
    Column("register_groups", Boolean, nullable=False, default=False),
    # Sent to each new subscriber (a /start that registered or reactivated the chat) as a
    # transactional message; the message may be deleted later (the send then fails).
    Column("welcome_message_id", BigInteger, nullable=True),
    # The last update_id taken through getUpdates: the next call asks for offset + 1.
    Column("poll_offset", BigInteger, nullable=True),
    # One worker reads, applies and relays a bot's updates at a time.
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("relay_delivered", Integer, nullable=False, default=0),
    Column("relay_failures", Integer, nullable=False, default=0),
    Column("relay_last_error", String(500), nullable=True),
    Column("relay_last_error_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

# Every update accepted, stored before it is applied: a crash after the webhook's 200 or
# after getUpdates returned loses none, and (app_id, update_id) takes each once.
bot_updates = Table(
    "bot_updates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("update_id", BigInteger, nullable=False),
    # The JSON exactly as Telegram sent it: the relay forwards it unchanged.
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("processed_at", DateTime, nullable=True),
    Column("relay_state", String(8), nullable=False),  # none | pending | done | failed
    Column("relay_attempts", Integer, nullable=False, default=0),
    Column("relay_next_at", DateTime, nullable=True),
    UniqueConstraint("app_id", "update_id", name="uq_bot_updates_app_update"),
    Index("ix_bot_updates_app_processed", "app_id", "processed_at"),
)

# Single-use deep links that were used, and by which chat (that chat may start again).
used_start_links = Table(
    "used_start_links",
    metadata,
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("payload", String(64), primary_key=True),
    Column("chat_id", String(64), nullable=False),
    Column("used_at", DateTime, nullable=False),
)

# A change of a bot's update settings in progress (PUT .../updates): it tells Telegram
# first and stores after, so two changes at once could leave Telegram with one webhook
# secret and this table with the other. One change per bot at a time, across API
# processes; ``until`` frees the bot if the process died half-way.
update_config_locks = Table(
    "update_config_locks",
    metadata,
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("until", DateTime, nullable=False),
)

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from hushcast.core.db import BigId, metadata

# A receiver of one organisation's events.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("url", String(2000), nullable=False),
    # Comma-separated subset of delivery,click,mute,subscriber (no name contains another).
    Column("events", String(100), nullable=False),
    Column("format", String(10), nullable=False),  # hushcast | yespo
    Column("description", String(500), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("secret", String(100), nullable=False),
    # During a rotation the previous secret signs too, until previous_secret_until.
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Dispatcher state: a failing receiver backs off as a whole (keeps the order).
    Column("failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=True),
    # One dispatcher at a time serves a webhook (a lease, taken with SKIP LOCKED).
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    # Timed mutes that ended up to this moment have had their "expired" event.
    Column("expiry_scanned_until", DateTime, nullable=False),
)

# The outbox: one row per (webhook, event), written with the change it describes.
# Rows are deleted once the receiver accepted them; FAILED rows stay, visible.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("webhook_id", BigId, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    # The event as JSON (hushcast shape); NULL for a delivery event, whose body the
    # dispatcher builds from its delivery row (delivery_id) when it sends it.
    Column("payload", Text, nullable=True),
    Column("status", String(10), nullable=False),  # PENDING | FAILED
    Column("attempts", Integer, nullable=False, default=0),
    Column("first_attempt_at", DateTime, nullable=True),
    Column("delivery_id", BigId, nullable=True),
    Index("ix_webhook_outbox_webhook_status_id", "webhook_id", "status", "id"),
)

# Recent POSTs to a webhook (the deliveries listing).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("webhook_id", BigId, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("events", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(300), nullable=True),
    Column("next_retry_at", DateTime, nullable=True),
    Column("test", Boolean, nullable=False, default=False),
    Index("ix_webhook_attempts_webhook_id", "webhook_id", "id"),
)

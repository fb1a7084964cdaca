from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from hushcast.core.db import BigId, metadata

# The durable send queue: one row per recipient of a broadcast, smartsend or
# test send. A row is claimed by the worker that holds its bot's lease and
# ends with exactly one final status.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("organization_id", BigId, nullable=False),
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column(
        "broadcast_id",
        BigId,
        ForeignKey("broadcasts.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("message_id", BigId, nullable=False),
    Column("kind", String(10), nullable=False),  # broadcast | smartsend | test
    # 0 = transactional, 1 = broadcast: transactional rows are claimed first.
    Column("priority", SmallInteger, nullable=False),
    Column("token", String(64), nullable=False),
    Column("contact_id", BigId, nullable=True),
    Column("request_id", String(36), nullable=True, unique=True),
    Column("external_request_id", String(200), nullable=True),
    Column("json_param", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("error_type", String(40), nullable=True),
    Column("error_name", String(40), nullable=True),
    Column("description", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", DateTime, nullable=False),
    Column("lease_until", DateTime, nullable=True),
    Column("telegram_message_id", BigInteger, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("clicked_at", DateTime, nullable=True),
    # The recipient's languageCode (smartsend's, else the contact's): the worker sends
    # the message's translation in that language when it has one. Last: migration 0005c
    # added it to a table that existed (a copy would cost the table's AUTOINCREMENT).
    Column("language_code", String(16), nullable=True),
    # Transactional rows only: the request asked to respect quiet hours (defer | skip);
    # NULL: ignore them (the default). Broadcast rows take it from their broadcast.
    # After language_code: migration 0005p adds it (ADD COLUMN, at the end).
    Column("quiet_hours_policy", String(8), nullable=True),
    Index("ix_deliveries_claim", "app_id", "status", "priority", "id"),
    Index("ix_deliveries_broadcast_status", "broadcast_id", "status", "id"),
    # At most one delivery per (broadcast, chat id): planning skips a chat already
    # queued (a chat re-registered mid-broadcast gets a new token row, not a new send).
    Index("uq_deliveries_broadcast_token", "broadcast_id", "token", unique=True),
    # Single reports list transactional sends by date; broadcast rows stay out
    # of this index so planning a million recipients does not pay for it.
    Index(
        "ix_deliveries_transactional",
        "organization_id",
        "created_at",
        postgresql_where=text("broadcast_id IS NULL"),
        sqlite_where=text("broadcast_id IS NULL"),
    ),
    # Activity reports (GET /v2/contacts/activity, /v2/contacts/messages) read finished
    # rows by organisation or by contact, in id order; queued rows stay out of these.
    Index(
        "ix_deliveries_org_finished",
        "organization_id",
        "id",
        postgresql_where=text("finished_at IS NOT NULL"),
        sqlite_where=text("finished_at IS NOT NULL"),
    ),
    Index(
        "ix_deliveries_contact_finished",
        "contact_id",
        "id",
        postgresql_where=text("finished_at IS NOT NULL"),
        sqlite_where=text("finished_at IS NOT NULL"),
    ),
    # Parked rows (WAITING, HELD) are only ever found through these partial indexes:
    # waiting costs nothing per pass, and a due sweep or a release reads only its rows.
    Index(
        "ix_deliveries_parked",
        "app_id",
        "available_at",
        postgresql_where=text("status IN ('WAITING', 'HELD')"),
        sqlite_where=text("status IN ('WAITING', 'HELD')"),
    ),
    Index(
        "ix_deliveries_held_token",
        "app_id",
        "token",
        postgresql_where=text("status = 'HELD'"),
        sqlite_where=text("status = 'HELD'"),
    ),
    # Frequency caps count a chat's recent broadcast messages.
    Index(
        "ix_deliveries_sent_chat",
        "app_id",
        "token",
        "finished_at",
        postgresql_where=text("broadcast_id IS NOT NULL AND status IN ('DELIVERED', 'CLICKED')"),
        sqlite_where=text("broadcast_id IS NOT NULL AND status IN ('DELIVERED', 'CLICKED')"),
    ),
)

# One worker drives a bot at a time, so the bot's rate budget is never split.
app_leases = Table(
    "app_leases",
    metadata,
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("worker_id", String(100), nullable=False),
    Column("lease_until", DateTime, nullable=False),
    # Set from a 429's retry_after: no send for this bot before this moment.
    Column("paused_until", DateTime, nullable=True),
)

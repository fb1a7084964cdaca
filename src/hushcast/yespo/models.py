"""Tables holding what Yespo's API carries and the core tables do not.

Side tables keyed by the core rows (cascading deletes), so the core tables are left
as they are: a contact's Yespo-only attributes, numbered custom field definitions,
import sessions, broadcast throttling, message translations and contact events.
"""

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from hushcast.core.db import BigId, metadata

# contactKey, languageCode and address of a contact (Yespo's Contact schema).
contact_profiles = Table(
    "contact_profiles",
    metadata,
    Column(
        "contact_id",
        BigId,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("contact_key", String(200), nullable=True),
    Column("language_code", String(16), nullable=True),
    Column("address", JSON, nullable=True),
    Index("uq_contact_profiles_org_key", "organization_id", "contact_key", unique=True),
)

# Custom contact fields by numeric id (Yespo's fields: [{"id", "value"}]); values stay
# in contacts.fields by name. A definition is made the first time a name is written.
contact_field_defs = Table(
    "contact_field_defs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_contact_field_defs_org_name", "organization_id", "name", unique=True),
)

# POST /v1/contacts answers {"asyncSessionId"}; GET /v1/importstatus/{id} reads it back.
import_sessions = Table(
    "import_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("contact_ids", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# A broadcast's batchSize / batchIntervalUnit (at most batch_size recipients per interval).
broadcast_throttles = Table(
    "broadcast_throttles",
    metadata,
    Column(
        "broadcast_id",
        BigId,
        ForeignKey("broadcasts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("batch_size", Integer, nullable=False),
    Column("batch_interval_unit", String(8), nullable=False),
    # Planning progress: the last deliveries.id spread over intervals, and how many
    # sendable recipients that covered (the next one's 0-based position).
    Column("planned_through_id", BigId, nullable=True),
    Column("planned_count", Integer, nullable=False, default=0),
)

# Language versions of a Telegram message (PUT /v1/messages/telegram/{id}/{language}).
message_translations = Table(
    "message_translations",
    metadata,
    Column("message_id", BigId, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("language_code", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("image_source", Text, nullable=True),
    Column("buttons", JSON, nullable=True),
    PrimaryKeyConstraint("message_id", "language_code", name="pk_message_translations"),
)

# POST /v1/event and /v2/event, stored and shown in the contact's activity.
contact_events = Table(
    "contact_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("contact_id", BigId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
    Column("event_type_key", String(200), nullable=False),
    Column("key_value", String(500), nullable=True),
    Column("params", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_contact_events_org_id", "organization_id", "id"),
    Index("ix_contact_events_contact_id", "contact_id"),
)

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table

from hushcast.core.db import BigId, metadata

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("app_id", BigId, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", BigId, ForeignKey("messages.id", ondelete="RESTRICT"), nullable=False),
    Column("title", String(300), nullable=True),
    Column("groups", JSON, nullable=True),
    Column("excluded_groups", JSON, nullable=True),
    Column("start_date", DateTime, nullable=False),
    # SCHEDULED -> (planned) RUNNING -> FINISHED; PAUSED and CANCELLED by request.
    Column("status", String(16), nullable=False),
    # Planning is resumable: recipients are queued in batches of app_tokens ids,
    # and plan_cursor is the last id queued (committed with its batch).
    Column("plan_cursor", BigId, nullable=True),
    Column("planned_at", DateTime, nullable=True),
    Column("total_recipients", Integer, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    # Eligibility policies (migration 0005p, docs/policies.md); NULL: the default.
    Column("mute_policy", String(8), nullable=True),  # skip (default) | hold
    Column("hold_until", DateTime, nullable=True),  # hold: muted past this -> skipped
    Column("quiet_hours_policy", String(8), nullable=True),  # defer (default) | skip | ignore
    Column("local_time", String(5), nullable=True),  # "HH:MM" in each recipient's zone
    Column("local_date", String(10), nullable=True),  # "YYYY-MM-DD"
    Index("ix_broadcasts_status_start", "status", "start_date"),
)

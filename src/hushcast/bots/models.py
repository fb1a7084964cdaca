from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
)

from hushcast.core.db import BigId, metadata

apps = Table(
    "apps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # The BotFather token: a secret, never returned by the API nor logged.
    Column("bot_token", String(200), nullable=False),
    Column("bot_id", BigInteger, nullable=False),
    Column("bot_username", String(100), nullable=False),
    Column("name", String(200), nullable=True),
    Column("paid_broadcast", Boolean, nullable=False, default=False),
    Column("messages_per_second", Float, nullable=False, default=30.0),
    Column("private_chat_per_second", Float, nullable=False, default=1.0),
    Column("group_per_minute", Float, nullable=False, default=20.0),
    Column("paid_messages_per_second", Float, nullable=False, default=1000.0),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("organization_id", "bot_id", name="uq_apps_org_bot"),
)

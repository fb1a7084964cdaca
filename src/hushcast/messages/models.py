from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, Table, Text

from hushcast.core.db import BigId, metadata

messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(300), nullable=False),
    Column("text", Text, nullable=False),
    Column("image_source", Text, nullable=True),
    Column("buttons", JSON, nullable=True),
    Column("tags", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

from sqlalchemy import Column, DateTime, ForeignKey, String, Table

from hushcast.core.db import BigId, metadata

groups = Table(
    "groups",
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
    Column("created_at", DateTime, nullable=False),
)

group_contacts = Table(
    "group_contacts",
    metadata,
    Column("group_id", BigId, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "contact_id",
        BigId,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

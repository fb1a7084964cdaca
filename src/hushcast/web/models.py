"""Dashboard sessions, kept on the server so that signing out really ends them."""

from sqlalchemy import Column, DateTime, ForeignKey, String, Table

from hushcast.core.db import BigId, metadata

web_sessions = Table(
    "web_sessions",
    metadata,
    # SHA-256 (hex) of the session's random id: the id itself is only in the browser's
    # cookie, so reading this table does not give anyone a session.
    Column("id_digest", String(64), primary_key=True),
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # The key signed in with: revoking it ends its sessions.
    Column(
        "api_key_id",
        BigId,
        ForeignKey("api_keys.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

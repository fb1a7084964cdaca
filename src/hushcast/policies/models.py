"""Eligibility policies: organisation defaults, per-bot overrides, per-contact quiet
hours. Read by the delivery engine's pipeline (delivery/eligibility.py)."""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table

from hushcast.core.db import BigId, metadata


def _policy_columns() -> list[Column[object]]:
    return [
        # Quiet hours, "HH:MM" local time; NULL: not set here (inherit); start == end:
        # set to none (an override that turns inherited quiet hours off).
        Column("quiet_start", String(5), nullable=True),
        Column("quiet_end", String(5), nullable=True),
        # At most cap_count broadcast messages per chat per cap_period_s; NULL: inherit.
        # cap_count 0 with a period: an override that turns an inherited cap off.
        Column("cap_count", Integer, nullable=True),
        Column("cap_period_s", Integer, nullable=True),
        Column("updated_at", DateTime, nullable=False),
    ]


org_policies = Table(
    "org_policies",
    metadata,
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # The zone of contacts without a (valid) timeZone; NULL: UTC.
    Column("time_zone", String(64), nullable=True),
    *_policy_columns(),
)

app_policies = Table(
    "app_policies",
    metadata,
    Column(
        "app_id",
        BigId,
        ForeignKey("apps.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    *_policy_columns(),
)

contact_quiet_hours = Table(
    "contact_quiet_hours",
    metadata,
    Column(
        "contact_id",
        BigId,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("quiet_start", String(5), nullable=False),
    Column("quiet_end", String(5), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # The contact's organisation, kept on the row so that the pre-send check's question
    # "has any contact of this organisation quiet hours?" is one index probe (0006q).
    Column(
        "organization_id",
        BigId,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

"""unique contact identifiers per organisation; chat ids in canonical form

Contacts sharing an externalCustomerId, phone or email within an organisation are
one person: each group of them (transitively: a shares a phone with b, b an email
with c) is merged into its oldest contact (the one Yespo-style matching picked).
The survivor keeps its own values and takes missing ones from the others (oldest
first); custom fields merge by name (the survivor's win, then the older contact's);
tokens, group memberships and delivery rows move to it. Then each identifier gets a
unique index per organisation.

Chat ids ("tokens") stored as "0123", "+123" or "-0042" become Telegram's canonical
decimal form ("123", "-42") in app_tokens, mutes, mute_events and deliveries. When two
spellings of one chat collide: a bot keeps the most recently registered token row (the
other is deleted; it was the same chat), and a mute keeps the later ``muted_until``.
Values that cannot be made a chat id are left as they are.

Self-contained on purpose (no application imports): the lead re-chains revisions.

Revision ID: 0002i
Revises: 0001
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002i"
down_revision = "0002d"
branch_labels = None
depends_on = None

IDENTIFIERS = ("external_customer_id", "phone", "email")
ATTRIBUTES = ("first_name", "last_name", "time_zone")
CHUNK = 500

contacts = sa.table(
    "contacts",
    sa.column("id", sa.Integer),
    sa.column("organization_id", sa.Integer),
    sa.column("external_customer_id", sa.String),
    sa.column("phone", sa.String),
    sa.column("email", sa.String),
    sa.column("first_name", sa.String),
    sa.column("last_name", sa.String),
    sa.column("time_zone", sa.String),
    sa.column("fields", sa.JSON),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
app_tokens = sa.table(
    "app_tokens",
    sa.column("id", sa.Integer),
    sa.column("app_id", sa.Integer),
    sa.column("contact_id", sa.Integer),
    sa.column("token", sa.String),
)
mutes = sa.table(
    "mutes",
    sa.column("app_id", sa.Integer),
    sa.column("token", sa.String),
    sa.column("muted_until", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
mute_events = sa.table("mute_events", sa.column("token", sa.String))
group_contacts = sa.table(
    "group_contacts", sa.column("group_id", sa.Integer), sa.column("contact_id", sa.Integer)
)
deliveries = sa.table(
    "deliveries", sa.column("contact_id", sa.Integer), sa.column("token", sa.String)
)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _duplicated_contact_ids(conn: sa.Connection) -> list[int]:
    ids: set[int] = set()
    for name in IDENTIFIERS:
        col = contacts.c[name]
        dup = (
            sa.select(contacts.c.organization_id.label("org"), col.label("value"))
            .where(col.is_not(None))
            .group_by(contacts.c.organization_id, col)
            .having(sa.func.count() > 1)
            .subquery()
        )
        rows = conn.execute(
            sa.select(contacts.c.id).join(
                dup, sa.and_(contacts.c.organization_id == dup.c.org, col == dup.c.value)
            )
        )
        ids.update(int(r[0]) for r in rows)
    return sorted(ids)


def merge_duplicate_contacts(conn: sa.Connection) -> int:
    """Merges every group of contacts sharing an identifier; returns contacts removed."""
    ids = _duplicated_contact_ids(conn)
    if not ids:
        return 0
    rows: dict[int, Any] = {}
    for part in _chunks(ids):
        for r in conn.execute(sa.select(contacts).where(contacts.c.id.in_(part))):
            rows[int(r.id)] = r

    # Union-find over contacts: two contacts holding the same identifier are one person.
    parent = {cid: cid for cid in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_holder: dict[tuple[int, str, str], int] = {}
    for cid in sorted(rows):
        r = rows[cid]
        for name in IDENTIFIERS:
            value = r._mapping[name]
            if value is None:
                continue
            key = (int(r.organization_id), name, value)
            other = first_holder.setdefault(key, cid)
            a, b = find(other), find(cid)
            if a != b:
                parent[max(a, b)] = min(a, b)

    groups: dict[int, list[int]] = {}
    for cid in sorted(rows):
        groups.setdefault(find(cid), []).append(cid)

    removed = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        survivor, losers = members[0], members[1:]
        ordered = [rows[c] for c in members]  # oldest (the survivor) first
        values: dict[str, Any] = {}
        for name in (*IDENTIFIERS, *ATTRIBUTES):
            values[name] = next(
                (r._mapping[name] for r in ordered if r._mapping[name] is not None), None
            )
        fields: dict[str, Any] = {}
        for r in reversed(ordered):
            if isinstance(r.fields, dict):
                fields.update(r.fields)
        values["fields"] = fields or None
        values["updated_at"] = max(r.updated_at for r in ordered)

        conn.execute(
            sa.update(app_tokens)
            .where(app_tokens.c.contact_id.in_(losers))
            .values(contact_id=survivor)
        )
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.contact_id.in_(losers))
            .values(contact_id=survivor)
        )
        memberships = conn.execute(
            sa.select(group_contacts.c.group_id, group_contacts.c.contact_id).where(
                group_contacts.c.contact_id.in_(members)
            )
        ).all()
        have = {int(g) for g, c in memberships if int(c) == survivor}
        wanted = sorted({int(g) for g, _c in memberships} - have)
        if wanted:
            conn.execute(
                sa.insert(group_contacts),
                [{"group_id": g, "contact_id": survivor} for g in wanted],
            )
        # The losers go (their group rows with them, by cascade) before the survivor takes
        # their identifiers.
        conn.execute(sa.delete(group_contacts).where(group_contacts.c.contact_id.in_(losers)))
        conn.execute(sa.delete(contacts).where(contacts.c.id.in_(losers)))
        conn.execute(sa.update(contacts).where(contacts.c.id == survivor).values(**values))
        removed += len(losers)
    return removed


# The same rule as hushcast.core.chat_ids (copied: migrations must not change with the app).
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def canonical_chat_id(token: str) -> str | None:
    text = token.strip()
    if len(text) > 40 or not _DECIMAL.fullmatch(text):
        return None
    number = int(text)
    if number == 0 or abs(number) >= 10**16:
        return None
    return str(number)


def _non_canonical(col: Any) -> Any:
    # The old code stored chat ids stripped, and integers as str(int): only a leading "+"
    # or leading zeros can make a decimal chat id non-canonical.
    return sa.or_(col.like("0%"), col.like("+%"), col.like("-0%"), col.like("-+%"))


def normalize_chat_ids(conn: sa.Connection) -> None:
    # app_tokens: unique per (app, token).
    rows = conn.execute(
        sa.select(app_tokens.c.id, app_tokens.c.app_id, app_tokens.c.token).where(
            _non_canonical(app_tokens.c.token)
        )
    ).all()
    for row_id, app_id, token in sorted(rows):
        canon = canonical_chat_id(token)
        if canon is None or canon == token:
            continue
        other = conn.execute(
            sa.select(app_tokens.c.id).where(
                app_tokens.c.app_id == app_id, app_tokens.c.token == canon
            )
        ).scalar()
        if other is None:
            conn.execute(sa.update(app_tokens).where(app_tokens.c.id == row_id).values(token=canon))
        elif int(other) > row_id:
            conn.execute(sa.delete(app_tokens).where(app_tokens.c.id == row_id))
        else:
            conn.execute(sa.delete(app_tokens).where(app_tokens.c.id == other))
            conn.execute(sa.update(app_tokens).where(app_tokens.c.id == row_id).values(token=canon))

    # mutes: primary key (app, token).
    rows = conn.execute(sa.select(mutes).where(_non_canonical(mutes.c.token))).all()
    for m in rows:
        canon = canonical_chat_id(m.token)
        if canon is None or canon == m.token:
            continue
        other = conn.execute(
            sa.select(mutes).where(mutes.c.app_id == m.app_id, mutes.c.token == canon)
        ).first()
        if other is None:
            conn.execute(
                sa.update(mutes)
                .where(mutes.c.app_id == m.app_id, mutes.c.token == m.token)
                .values(token=canon)
            )
            continue
        conn.execute(
            sa.update(mutes)
            .where(mutes.c.app_id == m.app_id, mutes.c.token == canon)
            .values(
                muted_until=max(m.muted_until, other.muted_until),
                updated_at=max(m.updated_at, other.updated_at),
            )
        )
        conn.execute(sa.delete(mutes).where(mutes.c.app_id == m.app_id, mutes.c.token == m.token))

    # History and queue rows: no uniqueness, every spelling becomes the canonical one.
    for table in (mute_events, deliveries):
        col = table.c.token
        spellings = conn.execute(sa.select(col).where(_non_canonical(col)).distinct()).all()
        for (token,) in spellings:
            canon = canonical_chat_id(token)
            if canon is not None and canon != token:
                conn.execute(sa.update(table).where(col == token).values(token=canon))


def upgrade() -> None:
    merge_duplicate_contacts(op.get_bind())
    normalize_chat_ids(op.get_bind())
    for short, col in (("ext", "external_customer_id"), ("phone", "phone"), ("email", "email")):
        op.drop_index(f"ix_contacts_org_{short}", table_name="contacts")
        op.create_index(
            f"uq_contacts_org_{short}", "contacts", ["organization_id", col], unique=True
        )


def downgrade() -> None:
    # Merged contacts stay merged, chat ids canonical.
    for short, col in (("ext", "external_customer_id"), ("phone", "phone"), ("email", "email")):
        op.drop_index(f"uq_contacts_org_{short}", table_name="contacts")
        op.create_index(f"ix_contacts_org_{short}", "contacts", ["organization_id", col])

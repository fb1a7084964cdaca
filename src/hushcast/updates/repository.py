"""All SQL of bot updates: settings, the stored updates, the per-bot lease, and the token
and mute changes updates make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens
from hushcast.mute.models import mutes
from hushcast.updates.models import (
    bot_updates,
    update_config_locks,
    update_settings,
    used_start_links,
)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# -- settings ---------------------------------------------------------------------------------


def get_settings(conn: Connection, app_id: int) -> Any:
    return conn.execute(select(update_settings).where(update_settings.c.app_id == app_id)).first()


def upsert_settings(conn: Connection, app_id: int, values: dict[str, Any]) -> None:
    ins = _insert(conn)(update_settings).values(app_id=app_id, **values)
    conn.execute(ins.on_conflict_do_update(index_elements=["app_id"], set_=values))


def lock_config(conn: Connection, app_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Takes the bot's update-settings lock for ``owner`` until ``until``; False while
    another owner holds it (a lock past its ``until`` is taken over)."""
    ins = _insert(conn)(update_config_locks).values(app_id=app_id, owner=owner, until=until)
    stmt = ins.on_conflict_do_update(
        index_elements=["app_id"],
        set_={"owner": owner, "until": until},
        where=update_config_locks.c.until <= now,
    )
    # preserve_rowcount: SQLAlchemy only keeps an INSERT's rowcount when asked.
    result = conn.execute(stmt.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0) == 1


def unlock_config(conn: Connection, app_id: int, owner: str) -> None:
    conn.execute(
        delete(update_config_locks).where(
            update_config_locks.c.app_id == app_id, update_config_locks.c.owner == owner
        )
    )


def webhook_target(conn: Connection, app_uuid: str) -> Any:
    """The app and its webhook secret, for the receiver (no organisation: Telegram calls)."""
    return conn.execute(
        select(apps.c.id, update_settings.c.mode, update_settings.c.webhook_secret)
        .join(update_settings, update_settings.c.app_id == apps.c.id)
        .where(apps.c.uuid == app_uuid)
    ).first()


def active_apps(
    conn: Connection, owner: str | None = None, now: datetime | None = None
) -> list[int]:
    """Bots receiving updates, and bots switched off with stored updates still to apply
    or relay (what was accepted is finished). With ``owner``: only those whose lease is
    free, expired or this owner's (no write is tried for a bot another worker holds)."""
    leftover = (
        select(bot_updates.c.id)
        .where(
            bot_updates.c.app_id == update_settings.c.app_id,
            or_(bot_updates.c.processed_at.is_(None), bot_updates.c.relay_state == "pending"),
        )
        .exists()
    )
    query = select(update_settings.c.app_id).where(or_(update_settings.c.mode != "off", leftover))
    if owner is not None and now is not None:
        query = query.where(
            or_(
                update_settings.c.lease_owner.is_(None),
                update_settings.c.lease_owner == owner,
                update_settings.c.lease_until <= now,
            )
        )
    return [int(r.app_id) for r in conn.execute(query).all()]


def has_leftover(conn: Connection, app_id: int) -> bool:
    return (
        conn.execute(
            select(bot_updates.c.id)
            .where(
                bot_updates.c.app_id == app_id,
                or_(bot_updates.c.processed_at.is_(None), bot_updates.c.relay_state == "pending"),
            )
            .limit(1)
        ).first()
        is not None
    )


def runner_view(conn: Connection, app_id: int) -> Any:
    """What the worker's runner needs of a bot each round."""
    return conn.execute(
        select(
            apps.c.organization_id,
            apps.c.bot_token,
            update_settings.c.mode,
            update_settings.c.relay_url,
            update_settings.c.relay_secret,
            update_settings.c.dialog_guard,
            update_settings.c.dialog_guard_seconds,
            update_settings.c.register_groups,
            update_settings.c.poll_offset,
            update_settings.c.welcome_message_id,
        )
        .join(update_settings, update_settings.c.app_id == apps.c.id)
        .where(apps.c.id == app_id)
    ).first()


def acquire_lease(
    conn: Connection, app_id: int, owner: str, now: datetime, until: datetime
) -> bool:
    """Takes or renews the bot's updates lease (the same idea as delivery's app_leases)."""
    result = conn.execute(
        update(update_settings)
        .where(
            update_settings.c.app_id == app_id,
            or_(
                update_settings.c.lease_owner == owner,
                update_settings.c.lease_owner.is_(None),
                update_settings.c.lease_until <= now,
            ),
        )
        .values(lease_owner=owner, lease_until=until)
    )
    return bool(result.rowcount == 1)


def release_lease(conn: Connection, app_id: int, owner: str) -> None:
    conn.execute(
        update(update_settings)
        .where(update_settings.c.app_id == app_id, update_settings.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def store_offset(conn: Connection, app_id: int, offset: int) -> None:
    conn.execute(
        update(update_settings).where(update_settings.c.app_id == app_id).values(poll_offset=offset)
    )


def record_relay(
    conn: Connection, app_id: int, delivered: int, error: str | None, now: datetime
) -> None:
    values: dict[str, Any] = {
        "relay_delivered": update_settings.c.relay_delivered + delivered,
    }
    if error is not None:
        values["relay_failures"] = update_settings.c.relay_failures + 1
        values["relay_last_error"] = error[:500]
        values["relay_last_error_at"] = now
    conn.execute(update(update_settings).where(update_settings.c.app_id == app_id).values(values))


# -- stored updates ---------------------------------------------------------------------------


def store_updates(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts the updates not taken yet; returns how many were new."""
    if not rows:
        return 0
    new = 0
    for row in rows:
        stmt = (
            _insert(conn)(bot_updates)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["app_id", "update_id"])
        )
        new += max(conn.execute(stmt).rowcount, 0)
    return new


def pending_updates(conn: Connection, app_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(bot_updates.c.id, bot_updates.c.update_id, bot_updates.c.payload)
            .where(bot_updates.c.app_id == app_id, bot_updates.c.processed_at.is_(None))
            .order_by(bot_updates.c.update_id)
            .limit(limit)
        ).all()
    )


def mark_processed(conn: Connection, update_row_id: int, now: datetime) -> bool:
    """Claims the update for this transaction: False when another one applied it already
    (the row lock makes a concurrent claim wait, then find it processed)."""
    result = conn.execute(
        update(bot_updates)
        .where(bot_updates.c.id == update_row_id, bot_updates.c.processed_at.is_(None))
        .values(processed_at=now)
    )
    return bool(result.rowcount == 1)


def next_relay(conn: Connection, app_id: int, limit: int) -> list[Any]:
    """The oldest updates still to relay, in update_id order, applied ones only."""
    return list(
        conn.execute(
            select(
                bot_updates.c.id,
                bot_updates.c.update_id,
                bot_updates.c.payload,
                bot_updates.c.relay_attempts,
                bot_updates.c.relay_next_at,
            )
            .where(
                bot_updates.c.app_id == app_id,
                bot_updates.c.relay_state == "pending",
                bot_updates.c.processed_at.is_not(None),
            )
            .order_by(bot_updates.c.update_id)
            .limit(limit)
        ).all()
    )


def set_relay_state(
    conn: Connection,
    update_row_id: int,
    state: str,
    attempts: int,
    next_at: datetime | None,
) -> None:
    conn.execute(
        update(bot_updates)
        .where(bot_updates.c.id == update_row_id)
        .values(relay_state=state, relay_attempts=attempts, relay_next_at=next_at)
    )


def count_pending_relay(conn: Connection, app_id: int) -> int:
    from sqlalchemy import func

    return int(
        conn.execute(
            select(func.count())
            .select_from(bot_updates)
            .where(bot_updates.c.app_id == app_id, bot_updates.c.relay_state == "pending")
        ).scalar_one()
    )


def cancel_relay(conn: Connection, app_id: int) -> None:
    """relayUrl removed: what was waiting for it is not sent anywhere."""
    conn.execute(
        update(bot_updates)
        .where(bot_updates.c.app_id == app_id, bot_updates.c.relay_state == "pending")
        .values(relay_state="none", relay_next_at=None)
    )


# -- what updates change ----------------------------------------------------------------------


def token_row(conn: Connection, app_id: int, token: str) -> Any:
    return conn.execute(
        select(app_tokens.c.id, app_tokens.c.contact_id, app_tokens.c.active).where(
            app_tokens.c.app_id == app_id, app_tokens.c.token == token
        )
    ).first()


def set_token_active(
    conn: Connection, app_id: int, token: str, active: bool, reason: str | None, now: datetime
) -> bool:
    """Deactivates or reactivates one chat; False when nothing changed."""
    values: dict[str, Any] = (
        {"active": True, "deactivated_at": None, "deactivation_reason": None}
        if active
        else {"active": False, "deactivated_at": now, "deactivation_reason": reason}
    )
    result = conn.execute(
        update(app_tokens)
        .where(
            app_tokens.c.app_id == app_id,
            app_tokens.c.token == token,
            app_tokens.c.active.is_(not active),
        )
        .values(values)
    )
    return bool(result.rowcount)


def move_token(conn: Connection, app_id: int, old: str, new: str) -> bool:
    """A group became a supergroup: its token (and mute) take the new chat id, unless the
    new id is registered already (then the old row stays, and is deactivated)."""
    if token_row(conn, app_id, new) is not None:
        return False
    result = conn.execute(
        update(app_tokens)
        .where(app_tokens.c.app_id == app_id, app_tokens.c.token == old)
        .values(token=new)
    )
    has_new_mute = conn.execute(
        select(mutes.c.token).where(mutes.c.app_id == app_id, mutes.c.token == new)
    ).first()
    if has_new_mute is None:
        conn.execute(
            update(mutes)
            .where(and_(mutes.c.app_id == app_id, mutes.c.token == old))
            .values(token=new)
        )
    else:
        conn.execute(delete(mutes).where(mutes.c.app_id == app_id, mutes.c.token == old))
    return bool(result.rowcount)


def use_link(conn: Connection, app_id: int, payload: str, chat_id: str, now: datetime) -> bool:
    """Records a single-use link's use; False when another chat used it first."""
    stmt = (
        _insert(conn)(used_start_links)
        .values(app_id=app_id, payload=payload, chat_id=chat_id, used_at=now)
        .on_conflict_do_nothing(index_elements=["app_id", "payload"])
    )
    if conn.execute(stmt).rowcount == 1:
        return True
    used_by = conn.execute(
        select(used_start_links.c.chat_id).where(
            used_start_links.c.app_id == app_id, used_start_links.c.payload == payload
        )
    ).scalar()
    return bool(used_by == chat_id)

"""Gathering the pipeline's facts for a group of rows about to be sent.

``gather`` reads (in the pre-send check's read transaction) the bot's and the
organisation's policies, each broadcast row's broadcast policies and contact, and the
frequency-cap counts; ``build`` turns them into ``eligibility.Facts``. Precedence, most
specific first: the contact's quiet hours, the bot's, the organisation's; the contact's
zone, the organisation's default zone, UTC; the bot's cap, the organisation's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.delivery import eligibility as el
from hushcast.delivery import policy_repository as repo


@dataclass(frozen=True)
class BotDefaults:
    """The organisation's defaults with the bot's overrides applied."""

    zone_name: str | None = None
    quiet: el.QuietHours | None = None
    cap: int | None = None
    cap_period_s: int | None = None


def _has_quiet(bot: BotDefaults) -> bool:
    return bot.quiet is not None and bot.quiet.start != bot.quiet.end


def merge(row: Any) -> BotDefaults:
    """``repo.bot_policies``'s row (or None) as the bot's effective defaults."""
    if row is None:
        return BotDefaults()
    if row.a_quiet_start is not None:
        quiet = el.QuietHours.parse(row.a_quiet_start, row.a_quiet_end)
    else:
        quiet = el.QuietHours.parse(row.o_quiet_start, row.o_quiet_end)
    if row.a_cap_count is not None:
        cap, period = row.a_cap_count, row.a_cap_period_s
    else:
        cap, period = row.o_cap_count, row.o_cap_period_s
    if not cap or not period:
        cap, period = None, None  # 0 or unset: no cap
    return BotDefaults(row.o_time_zone, quiet, cap, period)


def _quiet_policy(row: Any) -> str:
    if row.broadcast_id is None:  # transactional: only when the request asked
        return str(row.row_quiet_policy or el.QUIET_IGNORE)
    return str(row.quiet_hours_policy or el.QUIET_DEFER)


def build(now: datetime, bot: BotDefaults, row: Any, sent: int) -> el.Facts:
    """One broadcast row's facts from ``repo.recipient_rows``'s row."""
    zone = el.zone_or_default(row.time_zone, bot.zone_name)
    contact_quiet = el.QuietHours.parse(row.quiet_start, row.quiet_end)
    local_at = None
    at = el.parse_hhmm(row.local_time)
    if at is not None and row.local_date:
        local_at = el.local_moment(date.fromisoformat(row.local_date), at, zone)
    return el.Facts(
        now=now,
        zone=zone,
        mute_policy=row.mute_policy or el.MUTE_SKIP,
        hold_until=row.hold_until,
        quiet_policy=_quiet_policy(row),
        quiet=contact_quiet if contact_quiet is not None else bot.quiet,
        local_at=local_at,
        cap=bot.cap,
        cap_period_s=bot.cap_period_s,
        sent_in_period=sent,
    )


def gather(
    conn: Connection,
    app_id: int,
    targets: Sequence[tuple[int, str]],
    now: datetime,
    counted_ids: Collection[int] = (),
) -> dict[int, el.Facts]:
    """Facts of the broadcast rows among ``targets`` (row id, chat id it goes to now).

    The frequency cap's counts leave out the rows ``counted_ids``: the sender adds those
    itself, with the sends whose outcome is not written yet (delivery/caps.py)."""
    flags = repo.bot_policies(conn, app_id)
    bot = merge(flags)
    if flags is None or not (
        flags.policy_broadcast or flags.contact_quiet or _has_quiet(bot) or bot.cap is not None
    ):
        # Nothing but Yespo's default could apply to this bot's rows: no per-row read.
        return {}
    rows = repo.recipient_rows(conn, [i for i, _ in targets])
    if not rows:
        return {}
    counts: dict[str, int] = {}
    if bot.cap is not None and bot.cap_period_s is not None:
        since = now - timedelta(seconds=bot.cap_period_s)
        capped = [t for i, t in targets if i in rows and rows[i].broadcast_id is not None]
        counts = repo.sent_since(conn, app_id, capped, since, counted_ids)
    return {
        row_id: build(now, bot, rows[row_id], counts.get(token, 0))
        for row_id, token in targets
        if row_id in rows
    }

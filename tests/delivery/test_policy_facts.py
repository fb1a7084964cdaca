"""Which policy applies: the contact's, the bot's, the organisation's (pure functions)."""

from __future__ import annotations

from datetime import datetime, time
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from hushcast.delivery import eligibility as el
from hushcast.delivery.policy_facts import BotDefaults, build, merge

NOW = datetime(2030, 1, 15, 12, 0)


def bot_row(**kw: Any) -> Any:
    names = ("quiet_start", "quiet_end", "cap_count", "cap_period_s")
    base: dict[str, Any] = {f"{p}{n}": None for p in ("o_", "a_") for n in names}
    base["o_time_zone"] = None
    base.update(kw)
    return SimpleNamespace(**base)


def recipient(**kw: Any) -> Any:
    base: dict[str, Any] = dict.fromkeys(
        (
            "mute_policy",
            "hold_until",
            "quiet_hours_policy",
            "local_time",
            "local_date",
            "time_zone",
            "quiet_start",
            "quiet_end",
        )
    )
    base.update(broadcast_id=7, row_quiet_policy=None)
    base.update(kw)
    return SimpleNamespace(**base)


def test_nothing_set_is_yespos_behaviour() -> None:
    assert merge(None) == BotDefaults()
    f = build(NOW, merge(bot_row()), recipient(), 0)
    assert (f.mute_policy, f.quiet_policy, f.quiet, f.cap, f.local_at) == (
        el.MUTE_SKIP,
        el.QUIET_DEFER,
        None,
        None,
        None,
    )
    assert f.zone == ZoneInfo("UTC")


def test_the_bot_overrides_the_organisation() -> None:
    org_only = merge(bot_row(o_quiet_start="22:00", o_quiet_end="08:00", o_time_zone="Europe/Kyiv"))
    assert org_only.quiet == el.QuietHours(time(22), time(8))
    both = merge(
        bot_row(
            o_quiet_start="22:00", o_quiet_end="08:00", a_quiet_start="23:00", a_quiet_end="07:00"
        )
    )
    assert both.quiet == el.QuietHours(time(23), time(7))
    off = merge(
        bot_row(
            o_quiet_start="22:00", o_quiet_end="08:00", a_quiet_start="00:00", a_quiet_end="00:00"
        )
    )
    assert off.quiet is not None and el.quiet_until(NOW, ZoneInfo("UTC"), off.quiet) is None


def test_caps_bot_over_organisation_and_zero_turns_off() -> None:
    assert merge(bot_row(o_cap_count=3, o_cap_period_s=86400)).cap == 3
    assert (
        merge(bot_row(o_cap_count=3, o_cap_period_s=86400, a_cap_count=1, a_cap_period_s=60)).cap
        == 1
    )
    off = merge(bot_row(o_cap_count=3, o_cap_period_s=86400, a_cap_count=0, a_cap_period_s=0))
    assert (off.cap, off.cap_period_s) == (None, None)


def test_the_contact_overrides_quiet_hours_and_zone() -> None:
    bot = merge(bot_row(o_quiet_start="22:00", o_quiet_end="08:00", o_time_zone="Europe/Kyiv"))
    plain = build(NOW, bot, recipient(), 0)
    assert plain.zone == ZoneInfo("Europe/Kyiv") and plain.quiet == bot.quiet
    own = build(
        NOW, bot, recipient(time_zone="America/New_York", quiet_start="01:00", quiet_end="05:00"), 2
    )
    assert own.zone == ZoneInfo("America/New_York")
    assert own.quiet == el.QuietHours(time(1), time(5))
    assert own.sent_in_period == 2
    bad_zone = build(NOW, bot, recipient(time_zone="Mars/Olympus"), 0)
    assert bad_zone.zone == ZoneInfo("Europe/Kyiv")


def test_local_time_in_the_recipients_zone() -> None:
    row = recipient(local_time="10:00", local_date="2030-01-15", time_zone="America/New_York")
    assert build(NOW, merge(None), row, 0).local_at == datetime(2030, 1, 15, 15, 0)


def test_a_transactional_row_ignores_quiet_hours_unless_it_asked() -> None:
    bot = merge(bot_row(o_quiet_start="22:00", o_quiet_end="08:00"))
    assert build(NOW, bot, recipient(broadcast_id=None), 0).quiet_policy == el.QUIET_IGNORE
    asked = recipient(broadcast_id=None, row_quiet_policy="skip")
    assert build(NOW, bot, asked, 0).quiet_policy == el.QUIET_SKIP

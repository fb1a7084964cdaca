"""The eligibility pipeline alone: pure functions, the clock is a fact."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hushcast.delivery import decide
from hushcast.delivery import eligibility as el
from hushcast.delivery import status as st
from hushcast.delivery.decide import Action, PreSendState
from hushcast.delivery.job import Job

KYIV = ZoneInfo("Europe/Kyiv")
NY = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
NIGHT = el.QuietHours(time(22, 0), time(8, 0))
FOREVER = datetime(9999, 12, 31, 23, 59, 59)


def facts(now: datetime, **kw: object) -> el.Facts:
    base: dict[str, object] = {"now": now, "zone": UTC}
    base.update(kw)
    return el.Facts(**base)  # type: ignore[arg-type]


def run(f: el.Facts, *, active: bool | None = True, muted: datetime | None = None) -> el.Outcome:
    return el.check(f, token_active=active, muted_until=muted)


# -- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["24:00", "7:00", "07:60", "", None, 700, "07:00:00"])
def test_bad_hhmm_is_refused(bad: object) -> None:
    assert el.parse_hhmm(bad) is None


def test_unknown_zone_falls_back_to_the_default_then_utc() -> None:
    assert el.zone_or_default("Mars/Base", "Europe/Kyiv") == KYIV
    assert el.zone_or_default(None, "Nowhere/Else") == UTC


# -- quiet hours ------------------------------------------------------------------


def test_quiet_hours_across_midnight_before_and_after_midnight() -> None:
    # Kyiv is UTC+2 in January: 23:30 local = 21:30 UTC; the window ends 08:00 next day.
    late = datetime(2026, 1, 10, 21, 30)
    assert el.quiet_until(late, KYIV, NIGHT) == datetime(2026, 1, 11, 6, 0)
    early = datetime(2026, 1, 11, 3, 0)  # 05:00 local
    assert el.quiet_until(early, KYIV, NIGHT) == datetime(2026, 1, 11, 6, 0)


def test_outside_quiet_hours_and_at_their_edges() -> None:
    assert el.quiet_until(datetime(2026, 1, 10, 10, 0), KYIV, NIGHT) is None  # 12:00
    assert el.quiet_until(datetime(2026, 1, 10, 6, 0), KYIV, NIGHT) is None  # 08:00 sharp
    assert el.quiet_until(datetime(2026, 1, 10, 20, 0), KYIV, NIGHT) == datetime(
        2026, 1, 11, 6, 0
    )  # 22:00 sharp is quiet


def test_same_day_window_and_an_empty_window() -> None:
    lunch = el.QuietHours(time(12, 0), time(14, 0))
    assert el.quiet_until(datetime(2026, 1, 10, 12, 30), UTC, lunch) == datetime(2026, 1, 10, 14)
    assert el.quiet_until(datetime(2026, 1, 10, 14, 0), UTC, lunch) is None
    off = el.QuietHours(time(0, 0), time(0, 0))
    assert el.quiet_until(datetime(2026, 1, 10, 3, 0), UTC, off) is None


def test_quiet_hours_keep_local_hours_across_dst_in_kyiv() -> None:
    # Kyiv springs forward on 2026-03-29 (03:00 -> 04:00): UTC+2 before, UTC+3 after.
    # 23:00 local on the 28th (21:00 UTC) is quiet until 08:00 local on the 29th, which
    # is 05:00 UTC (not 06:00): the night is an hour shorter.
    assert el.quiet_until(datetime(2026, 3, 28, 21, 0), KYIV, NIGHT) == datetime(2026, 3, 29, 5)
    # Autumn: 2026-10-25 04:00 -> 03:00; 08:00 local on the 25th is 06:00 UTC.
    assert el.quiet_until(datetime(2026, 10, 24, 20, 0), KYIV, NIGHT) == datetime(2026, 10, 25, 6)
    # 07:30 local on the 25th is 05:30 UTC: still quiet (the extra hour does not end it).
    assert el.quiet_until(datetime(2026, 10, 25, 5, 30), KYIV, NIGHT) == datetime(2026, 10, 25, 6)


def test_quiet_hours_across_dst_in_new_york() -> None:
    # New York springs forward on 2026-03-08 (02:00 -> 03:00, UTC-5 -> UTC-4).
    assert el.quiet_until(datetime(2026, 3, 8, 4, 0), NY, NIGHT) == datetime(2026, 3, 8, 12)
    # A window ending inside the gap (02:30 does not exist that night) ends after it.
    gap = el.QuietHours(time(1, 0), time(2, 30))
    end = el.quiet_until(datetime(2026, 3, 8, 6, 30), NY, gap)  # 01:30 EST
    assert end is not None and datetime(2026, 3, 8, 6, 30) < end <= datetime(2026, 3, 8, 7, 30)
    # Falls back on 2026-11-01: 08:00 EST is 13:00 UTC.
    assert el.quiet_until(datetime(2026, 11, 1, 5, 30), NY, NIGHT) == datetime(2026, 11, 1, 13)


# -- local-time sends ---------------------------------------------------------------


def test_local_moment_per_zone_and_the_whole_window() -> None:
    day = date(2026, 7, 1)
    assert el.local_moment(day, time(10), KYIV) == datetime(2026, 7, 1, 7, 0)
    assert el.local_moment(day, time(10), NY) == datetime(2026, 7, 1, 14, 0)
    first, last = el.local_send_window(day, time(10))
    assert last - first == timedelta(hours=26)
    for name in ("Pacific/Kiritimati", "Etc/GMT+12", "Europe/Kyiv", "America/New_York"):
        assert first <= el.local_moment(day, time(10), ZoneInfo(name)) <= last


# -- the pipeline -------------------------------------------------------------------

NOW = datetime(2026, 1, 10, 12, 0)


def test_nothing_configured_passes() -> None:
    assert run(facts(NOW)) == el.PASS


def test_an_inactive_token_comes_before_the_mute() -> None:
    out = run(
        facts(NOW, mute_policy=el.MUTE_HOLD, hold_until=NOW + timedelta(hours=1)),
        active=False,
        muted=FOREVER,
    )
    assert (out.verdict, out.error_name) == (el.Verdict.SKIP, st.TOKEN_INACTIVE)


def test_mute_skip_is_the_default() -> None:
    out = run(facts(NOW), muted=FOREVER)
    assert (out.verdict, out.error_name) == (el.Verdict.SKIP, st.CHANNEL_WAS_MUTED)


def test_mute_hold_waits_for_the_end_of_the_mute_or_the_deadline() -> None:
    f = facts(NOW, mute_policy=el.MUTE_HOLD, hold_until=NOW + timedelta(hours=2))
    short = run(f, muted=NOW + timedelta(minutes=5))
    assert (short.verdict, short.until) == (el.Verdict.HOLD, NOW + timedelta(minutes=5))
    long = run(f, muted=FOREVER)
    assert (long.verdict, long.until) == (el.Verdict.HOLD, NOW + timedelta(hours=2))


def test_still_muted_at_the_deadline_is_skipped_as_muted() -> None:
    f = facts(NOW, mute_policy=el.MUTE_HOLD, hold_until=NOW)
    out = run(f, muted=FOREVER)
    assert (out.verdict, out.error_name) == (el.Verdict.SKIP, st.CHANNEL_WAS_MUTED)


def test_a_mute_comes_before_quiet_hours() -> None:
    night = datetime(2026, 1, 10, 23, 0)
    out = run(facts(night, quiet=NIGHT), muted=FOREVER)
    assert out.error_name == st.CHANNEL_WAS_MUTED


@pytest.mark.parametrize(
    ("policy", "verdict", "name"),
    [
        (el.QUIET_DEFER, el.Verdict.WAIT, None),
        (el.QUIET_SKIP, el.Verdict.SKIP, st.QUIET_HOURS),
        (el.QUIET_IGNORE, el.Verdict.PASS, None),
    ],
)
def test_quiet_hours_policies(policy: str, verdict: el.Verdict, name: str | None) -> None:
    night = datetime(2026, 1, 10, 23, 0)
    out = run(facts(night, quiet=NIGHT, quiet_policy=policy))
    assert (out.verdict, out.error_name) == (verdict, name)
    if verdict is el.Verdict.WAIT:
        assert out.until == datetime(2026, 1, 11, 8, 0)


def test_quiet_hours_come_before_the_cap() -> None:
    night = datetime(2026, 1, 10, 23, 0)
    out = run(facts(night, quiet=NIGHT, quiet_policy=el.QUIET_SKIP, cap=1, sent_in_period=5))
    assert out.error_name == st.QUIET_HOURS


def test_frequency_cap() -> None:
    under = run(facts(NOW, cap=3, cap_period_s=86400, sent_in_period=2))
    assert under == el.PASS
    over = run(facts(NOW, cap=3, cap_period_s=86400, sent_in_period=3))
    assert (over.verdict, over.error_name) == (el.Verdict.SKIP, st.FREQUENCY_CAP)


def test_local_time_waits_before_any_check() -> None:
    at = NOW + timedelta(hours=3)
    out = run(facts(NOW, local_at=at), active=False, muted=FOREVER)
    assert (out.verdict, out.until) == (el.Verdict.WAIT, at)
    # At its hour the row goes through the pipeline like any other.
    assert run(facts(at, local_at=at)) == el.PASS


# -- as decisions -------------------------------------------------------------------


def _job() -> Job:
    return Job(
        id=1,
        kind="broadcast",
        token="42",
        contact_id=None,
        message_id=3,
        json_param=None,
        broadcast_id=7,
        attempts=0,
    )


def _state(f: el.Facts, **kw: object) -> PreSendState:
    base: dict[str, object] = {
        "broadcast_status": st.B_RUNNING,
        "muted_until": None,
        "token_active": True,
        "message_version": NOW,
        "facts": f,
    }
    base.update(kw)
    return PreSendState(**base)  # type: ignore[arg-type]


def test_decisions_park_rows_as_held_or_waiting() -> None:
    hold = facts(NOW, mute_policy=el.MUTE_HOLD, hold_until=NOW + timedelta(hours=1))
    d = decide.before_send(_job(), _state(hold, muted_until=FOREVER))
    assert (d.action, d.status, d.until) == (Action.PARK, st.HELD, NOW + timedelta(hours=1))
    night = facts(datetime(2026, 1, 10, 23, 0), quiet=NIGHT)
    d = decide.before_send(_job(), _state(night))
    assert (d.action, d.status) == (Action.PARK, st.WAITING)
    d = decide.before_send(_job(), _state(facts(NOW, cap=1, sent_in_period=1)))
    assert (d.action, d.status, d.error_type, d.error_name) == (
        Action.FINISH,
        st.UNAVAILABLE,
        st.OTHER_ERRORS,
        st.FREQUENCY_CAP,
    )


def test_transactional_rows_skip_the_pipeline() -> None:
    job = _job()
    job.broadcast_id = None
    # The default for a transactional row: quiet hours ignored; mute and caps never apply.
    night = facts(datetime(2026, 1, 10, 23, 0), quiet=NIGHT, quiet_policy=el.QUIET_IGNORE, cap=0)
    d = decide.before_send(job, _state(night, broadcast_status=None, muted_until=FOREVER))
    assert d.action is Action.SEND


def test_a_transactional_row_that_asked_respects_quiet_hours_only() -> None:
    job = _job()
    job.broadcast_id = None
    night = datetime(2026, 1, 10, 23, 0)
    defer = facts(night, quiet=NIGHT, quiet_policy=el.QUIET_DEFER, cap=0)
    d = decide.before_send(job, _state(defer, broadcast_status=None, muted_until=FOREVER))
    assert (d.action, d.status, d.until) == (Action.PARK, st.WAITING, datetime(2026, 1, 11, 8))
    skip = facts(night, quiet=NIGHT, quiet_policy=el.QUIET_SKIP)
    d = decide.before_send(job, _state(skip, broadcast_status=None))
    assert (d.status, d.error_name) == (st.UNAVAILABLE, st.QUIET_HOURS)
    day = facts(datetime(2026, 1, 10, 12, 0), quiet=NIGHT, quiet_policy=el.QUIET_DEFER, cap=0)
    d = decide.before_send(job, _state(day, broadcast_status=None, muted_until=FOREVER))
    assert d.action is Action.SEND  # mute and cap never apply to transactional rows

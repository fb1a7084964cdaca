"""Organisation defaults, bot overrides and contact quiet hours. Never commits.

Bodies are checked by hand so that a bad field gets a 400 naming it. A PUT replaces
the whole policy of its level: an absent or null field means "inherit" (organisation:
none). The delivery engine reads these through delivery/policy_facts.py.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from hushcast.bots.service import resolve_app
from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.delivery import eligibility as el
from hushcast.delivery import policy_facts
from hushcast.policies import repository as repo
from hushcast.policies.schemas import (
    BotPoliciesOut,
    ContactQuietHoursOut,
    FrequencyCapOut,
    PoliciesOut,
    QuietHoursOut,
)

CONTACT_NOT_FOUND = "Contact not found"
BAD_QUIET_HOURS = 'quietHours must be {"start": "HH:mm", "end": "HH:mm"} or null'
BAD_CAP = 'frequencyCap must be {"count": 0..1000, "periodSeconds": 60..31536000} or null'
BAD_TIME_ZONE = "timeZone must be an IANA time zone, e.g. Europe/Kyiv"
MAX_CAP = 1000
MIN_PERIOD = 60
MAX_PERIOD = 31_536_000


def parse_quiet_hours(value: Any, *, required: bool = False) -> tuple[str, str] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise BadRequest(BAD_QUIET_HOURS)
    start, end = el.parse_hhmm(value["start"]), el.parse_hhmm(value["end"])
    if start is None or end is None:
        raise BadRequest(BAD_QUIET_HOURS)
    return start.strftime("%H:%M"), end.strftime("%H:%M")


def parse_cap(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"count", "periodSeconds"}:
        raise BadRequest(BAD_CAP)
    count, period = value["count"], value["periodSeconds"]
    for n in (count, period):
        if not isinstance(n, int) or isinstance(n, bool):
            raise BadRequest(BAD_CAP)
    if not 0 <= count <= MAX_CAP or not MIN_PERIOD <= period <= MAX_PERIOD:
        raise BadRequest(BAD_CAP)
    return count, period


def parse_time_zone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise BadRequest(BAD_TIME_ZONE)
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadRequest(BAD_TIME_ZONE) from None
    return value.strip()


def _quiet_out(start: str | None, end: str | None) -> QuietHoursOut | None:
    return None if start is None or end is None else QuietHoursOut(start=start, end=end)


def _cap_out(count: int | None, period: int | None) -> FrequencyCapOut | None:
    if count is None or period is None:
        return None
    return FrequencyCapOut(count=int(count), periodSeconds=int(period))


def _policy_values(body: dict[str, Any]) -> dict[str, Any]:
    quiet = parse_quiet_hours(body.get("quietHours"))
    cap = parse_cap(body.get("frequencyCap"))
    return {
        "quiet_start": quiet[0] if quiet else None,
        "quiet_end": quiet[1] if quiet else None,
        "cap_count": cap[0] if cap else None,
        "cap_period_s": cap[1] if cap else None,
        "updated_at": utcnow(),
    }


# --- organisation ------------------------------------------------------------------------


def get_org(conn: Connection, org_id: int) -> PoliciesOut:
    row = repo.org_policy(conn, org_id)
    if row is None:
        return PoliciesOut()
    return PoliciesOut(
        quietHours=_quiet_out(row.quiet_start, row.quiet_end),
        frequencyCap=_cap_out(row.cap_count, row.cap_period_s),
        timeZone=row.time_zone,
    )


def put_org(conn: Connection, org_id: int, body: dict[str, Any]) -> PoliciesOut:
    values = _policy_values(body)
    values["time_zone"] = parse_time_zone(body.get("timeZone"))
    repo.put_org_policy(conn, {"organization_id": org_id, **values})
    return get_org(conn, org_id)


# --- bot ---------------------------------------------------------------------------------


def get_app(conn: Connection, org_id: int, app_uuid: str) -> BotPoliciesOut:
    app = resolve_app(conn, org_id, app_uuid)
    own = repo.app_policy(conn, int(app.id))
    org = repo.org_policy(conn, org_id)
    merged = policy_facts.merge(_merge_row(org, own))
    return BotPoliciesOut(
        appUuid=app.uuid,
        quietHours=None if own is None else _quiet_out(own.quiet_start, own.quiet_end),
        frequencyCap=None if own is None else _cap_out(own.cap_count, own.cap_period_s),
        effective=PoliciesOut(
            quietHours=None
            if merged.quiet is None
            else QuietHoursOut(
                start=merged.quiet.start.strftime("%H:%M"),
                end=merged.quiet.end.strftime("%H:%M"),
            ),
            frequencyCap=_cap_out(merged.cap, merged.cap_period_s),
            timeZone=merged.zone_name,
        ),
    )


def put_app(conn: Connection, org_id: int, app_uuid: str, body: dict[str, Any]) -> BotPoliciesOut:
    app = resolve_app(conn, org_id, app_uuid)
    if "timeZone" in body:
        raise BadRequest("timeZone is an organisation default: PUT /v1/policies")
    repo.put_app_policy(conn, {"app_id": int(app.id), **_policy_values(body)})
    return get_app(conn, org_id, app_uuid)


class _Merged:
    """The row shape of ``delivery.policy_repository.bot_policies``, from our rows."""

    def __init__(self, org: Any, own: Any) -> None:
        for prefix, row in (("o_", org), ("a_", own)):
            for name in ("quiet_start", "quiet_end", "cap_count", "cap_period_s"):
                setattr(self, prefix + name, None if row is None else getattr(row, name))
        self.o_time_zone = None if org is None else org.time_zone


def _merge_row(org: Any, own: Any) -> Any:
    return _Merged(org, own)


# --- contact -----------------------------------------------------------------------------


def _contact(conn: Connection, org_id: int, contact_id: int) -> Any:
    row = repo.contact_of_org(conn, org_id, contact_id)
    if row is None:
        raise NotFound(CONTACT_NOT_FOUND)
    return row


def get_contact(conn: Connection, org_id: int, contact_id: int) -> ContactQuietHoursOut:
    row = _contact(conn, org_id, contact_id)
    return ContactQuietHoursOut(
        contactId=int(row.id),
        quietHours=_quiet_out(row.quiet_start, row.quiet_end),
        timeZone=row.time_zone,
    )


def put_contact(
    conn: Connection, org_id: int, contact_id: int, body: dict[str, Any]
) -> ContactQuietHoursOut:
    row = _contact(conn, org_id, contact_id)
    quiet = parse_quiet_hours(body.get("quietHours"), required=True)
    assert quiet is not None
    repo.put_contact_quiet_hours(conn, org_id, int(row.id), quiet[0], quiet[1], utcnow())
    return get_contact(conn, org_id, contact_id)


def delete_contact(conn: Connection, org_id: int, contact_id: int) -> None:
    row = _contact(conn, org_id, contact_id)
    repo.delete_contact_quiet_hours(conn, int(row.id))

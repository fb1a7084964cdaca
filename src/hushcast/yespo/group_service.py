"""Groups by Yespo's paths: detach with no body empties the group (Yespo's "delete all
contacts from a static segment"). Never commits."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from hushcast.core.errors import BadRequest, describe_validation_errors
from hushcast.groups import service as groups
from hushcast.groups.schemas import GroupMembers
from hushcast.yespo import contact_repository as repo


def members_body(body: dict[str, Any]) -> GroupMembers:
    try:
        return GroupMembers.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(describe_validation_errors(list(exc.errors()))) from None


def detach(conn: Connection, org_id: int, group_id: int, body: dict[str, Any] | None) -> int:
    """Removes the contacts the body names, or every contact when there is no body."""
    if body is None:
        groups.get_group(conn, org_id, group_id)  # 404 for another organisation's group
        return repo.remove_all_members(conn, group_id)
    return groups.remove_members(conn, org_id, group_id, members_body(body))

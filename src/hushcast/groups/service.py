"""Groups (static segments of contacts): CRUD and membership. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.groups import repository as repo
from hushcast.groups.schemas import (
    MAX_MEMBERS_PER_REQUEST,
    GroupContactOut,
    GroupMembers,
    GroupOut,
)

GROUP_NOT_FOUND = "Group not found"
MAX_ID = 2**63 - 1
MAX_LISTED = 10


def _valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def _to_out(row: Any) -> GroupOut:
    return GroupOut(id=int(row.id), name=row.name, contacts=int(row.contacts or 0))


def _require_group(conn: Connection, org_id: int, group_id: int) -> Any:
    """The caller's group; another organisation's group is as unknown as a missing one."""
    row = repo.get_group(conn, org_id, group_id) if _valid_id(group_id) else None
    if row is None:
        raise NotFound(GROUP_NOT_FOUND)
    return row


def group_ids_exist(conn: Connection, org_id: int, ids: list[int]) -> list[int]:
    """The ids (in input order, each once) that are NOT groups of the organisation."""
    wanted = [i for i in dict.fromkeys(ids) if isinstance(i, int) and _valid_id(i)]
    found = repo.existing_group_ids(conn, org_id, wanted)
    return [i for i in dict.fromkeys(ids) if i not in found]


def create_group(conn: Connection, org_id: int, name: str) -> GroupOut:
    group_id = repo.insert_group(
        conn, {"organization_id": org_id, "name": name, "created_at": utcnow()}
    )
    return GroupOut(id=group_id, name=name, contacts=0)


def list_groups(
    conn: Connection, org_id: int, offset: int, limit: int
) -> tuple[list[GroupOut], int]:
    total = repo.count_groups(conn, org_id)
    return [_to_out(r) for r in repo.list_groups(conn, org_id, offset, limit)], total


def get_group(conn: Connection, org_id: int, group_id: int) -> GroupOut:
    return _to_out(_require_group(conn, org_id, group_id))


def delete_group(conn: Connection, org_id: int, group_id: int) -> None:
    """Deletes the group and its memberships (broadcasts naming it are left as they are)."""
    if not _valid_id(group_id) or not repo.delete_group(conn, org_id, group_id):
        raise NotFound(GROUP_NOT_FOUND)


def _listing(values: Sequence[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown


def _resolve_members(conn: Connection, org_id: int, body: GroupMembers) -> list[int]:
    """Contact ids named by the body; 400 listing unknown ones (nothing is applied)."""
    contact_ids = body.contactIds or []
    external_ids = body.externalCustomerIds or []
    if not contact_ids and not external_ids:
        raise BadRequest("contactIds or externalCustomerIds must be a non-empty array")
    if len(contact_ids) + len(external_ids) > MAX_MEMBERS_PER_REQUEST:
        raise BadRequest(f"At most {MAX_MEMBERS_PER_REQUEST} contacts per request")
    found = repo.existing_contact_ids(conn, org_id, [i for i in contact_ids if _valid_id(i)])
    by_ext = repo.contacts_by_external_ids(conn, org_id, external_ids)
    problems = []
    missing_ids = [i for i in dict.fromkeys(contact_ids) if i not in found]
    if missing_ids:
        problems.append(f"Unknown contactIds: {_listing(missing_ids)}")
    missing_ext = [e for e in dict.fromkeys(external_ids) if e not in by_ext]
    if missing_ext:
        problems.append(f"Unknown externalCustomerIds: {_listing(missing_ext)}")
    if problems:
        raise BadRequest("; ".join(problems))
    # An externalCustomerId names every contact holding it.
    result = list(dict.fromkeys(contact_ids))
    for ext in dict.fromkeys(external_ids):
        result.extend(by_ext[ext])
    return list(dict.fromkeys(result))


def add_members(conn: Connection, org_id: int, group_id: int, body: GroupMembers) -> int:
    """Adds the contacts; ones already in the group are left alone. Returns how many
    were added."""
    _require_group(conn, org_id, group_id)
    ids = _resolve_members(conn, org_id, body)
    present = repo.member_ids(conn, group_id, ids)
    new = [i for i in ids if i not in present]
    repo.add_members(conn, group_id, new)
    return len(new)


def remove_members(conn: Connection, org_id: int, group_id: int, body: GroupMembers) -> int:
    _require_group(conn, org_id, group_id)
    ids = _resolve_members(conn, org_id, body)
    return repo.remove_members(conn, group_id, ids)


def list_members(
    conn: Connection, org_id: int, group_id: int, offset: int, limit: int
) -> tuple[list[GroupContactOut], int]:
    _require_group(conn, org_id, group_id)
    total = repo.count_members(conn, group_id)
    return [
        GroupContactOut(
            id=int(r.id),
            externalCustomerId=r.external_customer_id,
            email=r.email,
            phone=r.phone,
        )
        for r in repo.list_members(conn, group_id, offset, limit)
    ], total

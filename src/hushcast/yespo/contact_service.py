"""Contacts written in Yespo's shape: add/update one or in bulk (dedupeOn, contactFields,
customFieldsIDs, groupNames), delete by externalCustomerId, subscribe. Translates into
the contacts service's items and calls it; never commits. Reading is
``contact_read_service.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import contact_repository as core_repo
from hushcast.contacts import contact_service as core
from hushcast.contacts.contact_service import ContactItem, clean_identifier
from hushcast.contacts.schemas import ContactUpsertResult
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.ids import ascii_int
from hushcast.core.timeutil import utcnow
from hushcast.groups import repository as group_repo
from hushcast.yespo import contact_repository as repo
from hushcast.yespo.contact_schemas import (
    BulkUpsertResult,
    ImportStatus,
)
from hushcast.yespo.contact_shape import YespoParts, field_ids_in, translate_contact

# dedupeOn value -> (flat key holding the value, column to look it up in).
DEDUPE_ON = {
    "id": ("contactId", "id"),
    "externalCustomerId": ("externalCustomerId", "external_customer_id"),
    "sms": ("phone", "phone"),
    "email": ("email", "email"),
    "contact_key": ("contactKey", "contact_key"),
}
# dedupeOn values that try several identifiers, in order.
DEDUPE_ORDERS = {"email_or_sms": ("email", "sms")}
DEDUPE_ALIASES = {
    "contactKey": "contact_key",
    "phone": "sms",
    "externalcustomerid": "externalCustomerId",
}
DEFAULT_MATCH_ORDER = ("id", "externalCustomerId", "sms", "email")
# contactFields entry -> flat key or profile column it allows to change.
CONTACT_FIELDS = {
    "firstName": "firstName",
    "lastName": "lastName",
    "email": "email",
    "sms": "phone",
    "phone": "phone",
    "externalCustomerId": "externalCustomerId",
    "timeZone": "timeZone",
    "languageCode": "language_code",
    "contactKey": "contact_key",
    "address": "address",
    "town": "address",
    "region": "address",
    "postcode": "address",
}
UPDATABLE_FLAT = ("firstName", "lastName", "email", "phone", "externalCustomerId", "timeZone")
MAX_GROUP_NAMES = 100
IDENTIFYING = ("contactId", "externalCustomerId", "email", "phone")
NO_IDENTIFIER = (
    "A contact needs an email or sms channel, an externalCustomerId or an id "
    "(flat keys email, phone, contactId work too)"
)
IMPORT_NOT_FOUND = "Import session not found"


@dataclass
class BulkOptions:
    dedupe_on: str | None = None
    contact_fields: set[str] | None = None  # allowed flat keys / profile columns
    field_ids: set[int] | None = None
    group_names: Sequence[str] = ()
    exclude_group_names: Sequence[str] = ()


def _name_list(body: dict[str, Any], key: str) -> list[str]:
    raw = body.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        raise BadRequest(f"{key} must be an array of group names")
    if len(raw) > MAX_GROUP_NAMES:
        raise BadRequest(f"{key}: at most {MAX_GROUP_NAMES} names")
    return [n.strip() for n in raw]


def parse_options(body: dict[str, Any]) -> BulkOptions:
    opts = BulkOptions()
    dedupe = body.get("dedupeOn")
    if dedupe is not None:
        if isinstance(dedupe, str):
            dedupe = DEDUPE_ALIASES.get(dedupe, dedupe)
        if dedupe not in DEDUPE_ON and dedupe not in DEDUPE_ORDERS:
            raise BadRequest(
                "dedupeOn must be one of email, sms, email_or_sms, externalCustomerId, id, "
                "contact_key"
            )
        opts.dedupe_on = dedupe
    fields = body.get("contactFields")
    if fields is not None:
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise BadRequest("contactFields must be an array of field names")
        unknown = [f for f in fields if f not in CONTACT_FIELDS]
        if unknown:
            raise BadRequest(
                f"contactFields: unknown field {unknown[0]!r} (known: "
                + ", ".join(CONTACT_FIELDS)
                + ")"
            )
        opts.contact_fields = {CONTACT_FIELDS[f] for f in fields}
    ids = body.get("customFieldsIDs")
    if ids is not None:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise BadRequest("customFieldsIDs must be an array of custom field ids")
        opts.field_ids = set(ids)
    opts.group_names = _name_list(body, "groupNames")
    opts.exclude_group_names = _name_list(body, "groupNamesExclude")
    restore = body.get("restoreDeleted")
    if restore is not None and not isinstance(restore, bool):
        raise BadRequest("restoreDeleted must be a boolean")
    return opts


def positive_id(value: Any) -> int | None:
    if isinstance(value, str) and (ascii_int(value.strip()) is not None):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= core.MAX_ID:
        return None
    return value


def _lookup_value(parts: YespoParts, key: str, where: str) -> Any:
    if not isinstance(parts.flat, dict):
        return None  # the contacts parser answers "must be an object"
    if key == "contactKey":
        return parts.profile.get("contact_key")
    value = parts.flat.get(key)
    if key == "contactId":
        return positive_id(value)
    return clean_identifier(where, key, value)


def _pre_match(
    conn: Connection, org_id: int, parts: list[YespoParts], wheres: list[str], dedupe: str | None
) -> list[int | None]:
    """The existing contact each item matches (dedupeOn, else Yespo's order), or None."""
    order = DEDUPE_ORDERS.get(dedupe, (dedupe,)) if dedupe else DEFAULT_MATCH_ORDER
    matched: list[int | None] = [None] * len(parts)
    for name in order:
        key, column = DEDUPE_ON[name]
        values = {i: _lookup_value(p, key, wheres[i]) for i, p in enumerate(parts)}
        wanted = [v for i, v in values.items() if v is not None and matched[i] is None]
        if not wanted:
            continue
        found = repo.contact_ids_by(conn, org_id, column, wanted)
        for i, v in values.items():
            if matched[i] is None and v is not None and v in found:
                matched[i] = found[v]
    return matched


def _restrict(parts: YespoParts, opts: BulkOptions, existing: bool, names: dict[str, int]) -> None:
    if not isinstance(parts.flat, dict):
        return
    if existing and opts.contact_fields is not None:
        for key in UPDATABLE_FLAT:
            if key not in opts.contact_fields:
                parts.flat.pop(key, None)
        for col in list(parts.profile):
            if col not in opts.contact_fields:
                del parts.profile[col]
    if opts.field_ids is not None and isinstance(parts.flat.get("fields"), list):
        parts.flat["fields"] = [
            f
            for f in parts.flat["fields"]
            if isinstance(f, dict) and names.get(str(f.get("name"))) in opts.field_ids
        ]


def _ensure_field_defs(conn: Connection, org_id: int, items: list[ContactItem]) -> None:
    names = sorted({n for it in items for n in it.fields})
    if not names:
        return
    have = repo.field_ids_by_names(conn, org_id, names)
    repo.insert_field_defs(conn, org_id, [n for n in names if n not in have], utcnow())


def _apply_profiles(
    conn: Connection, org_id: int, ids: list[int], parts: list[YespoParts], wheres: list[str]
) -> None:
    changes: dict[int, dict[str, Any]] = {}
    where_of: dict[int, str] = {}
    for cid, p in zip(ids, parts, strict=True):
        if p.profile:
            merged = changes.setdefault(cid, {})
            for col, value in p.profile.items():
                if col == "address" and value is not None:
                    merged["address"] = {**(merged.get("address") or {}), **value}
                else:
                    merged[col] = value
            if "contact_key" in p.profile:
                where_of[cid] = wheres[ids.index(cid)]
    if not changes:
        return
    stored = repo.profiles_of(conn, list(changes))
    final: dict[int, dict[str, Any]] = {}
    for cid, change in changes.items():
        row = stored.get(cid)
        cur = {
            "contact_key": row.contact_key if row else None,
            "language_code": row.language_code if row else None,
            "address": (row.address if row and isinstance(row.address, dict) else None),
        }
        for col, value in change.items():
            if col == "address" and value is not None:
                cur["address"] = {**(cur["address"] or {}), **value}
            else:
                cur[col] = value
        final[cid] = cur
    keys = {cid: v["contact_key"] for cid, v in final.items() if v["contact_key"]}
    seen: dict[str, int] = {}
    holders = repo.contact_ids_by(conn, org_id, "contact_key", list(keys.values()))
    for cid, key in keys.items():
        other = seen.setdefault(key, cid)
        holder = holders.get(key)
        if other != cid or (holder is not None and holder != cid and holder not in keys):
            loc = where_of.get(cid, "")
            loc = f"{loc}.contactKey" if loc else "contactKey"
            whose = f"contact {holder}" if other == cid else "another contact of this request"
            raise ApiError(409, f"{loc}: '{key}' already belongs to {whose}")
    repo.insert_profiles(
        conn,
        [
            {"contact_id": cid, "organization_id": org_id, **v}
            for cid, v in final.items()
            if cid not in stored
        ],
    )
    repo.update_profiles(
        conn,
        [
            {
                "b_id": cid,
                "b_key": v["contact_key"],
                "b_lang": v["language_code"],
                "b_address": v["address"],
            }
            for cid, v in final.items()
            if cid in stored
        ],
    )


def group_ids_for_names(conn: Connection, org_id: int, names: Sequence[str]) -> dict[str, int]:
    """Group id per name; a group that does not exist yet is created (as Yespo does)."""
    found = repo.group_ids_by_names(conn, org_id, names)
    for name in dict.fromkeys(names):
        if name not in found:
            found[name] = group_repo.insert_group(
                conn, {"organization_id": org_id, "name": name, "created_at": utcnow()}
            )
    return found


def _apply_groups(
    conn: Connection, org_id: int, ids: list[int], parts: list[YespoParts], opts: BulkOptions
) -> None:
    wanted: dict[str, list[int]] = {}
    for cid, p in zip(ids, parts, strict=True):
        for name in (*p.group_names, *opts.group_names):
            wanted.setdefault(name, []).append(cid)
    if wanted:
        gids = group_ids_for_names(conn, org_id, list(wanted))
        for name, members in wanted.items():
            present = group_repo.member_ids(conn, gids[name], members)
            group_repo.add_members(
                conn, gids[name], [c for c in dict.fromkeys(members) if c not in present]
            )
    if opts.exclude_group_names:
        for gid in repo.group_ids_by_names(conn, org_id, opts.exclude_group_names).values():
            group_repo.remove_members(conn, gid, ids)


def upsert(
    conn: Connection, org_id: int, raws: list[Any], wheres: list[str], opts: BulkOptions
) -> tuple[list[int], list[bool]]:
    """Adds or updates every contact (Yespo or flat shape), whole or not at all."""
    field_names = repo.field_names_by_ids(
        conn, org_id, [i for raw in raws for i in field_ids_in(raw)]
    )
    parts = [translate_contact(raw, w, field_names) for raw, w in zip(raws, wheres, strict=True)]
    all_names = {
        str(f.get("name"))
        for p in parts
        if isinstance(p.flat, dict) and isinstance(p.flat.get("fields"), list)
        for f in p.flat["fields"]
        if isinstance(f, dict)
    }
    name_ids = repo.field_ids_by_names(conn, org_id, list(all_names)) if opts.field_ids else {}
    # Matching against the stored contacts first is needed only where Yespo's options
    # depend on it (dedupeOn, contactFields); otherwise the contacts service matches,
    # seeing earlier items of the same request.
    pre_match = opts.dedupe_on is not None or opts.contact_fields is not None
    matched = (
        _pre_match(conn, org_id, parts, wheres, opts.dedupe_on)
        if pre_match
        else [None] * len(parts)
    )
    for p, m in zip(parts, matched, strict=True):
        if not isinstance(p.flat, dict):
            continue
        if m is not None:
            p.flat["contactId"] = m
        elif opts.dedupe_on not in (None, "id"):
            p.flat.pop("contactId", None)
        _restrict(p, opts, m is not None, name_ids)
    for p, w in zip(parts, wheres, strict=True):
        yespo_shape = isinstance(p.flat, dict) and "channels" in p.flat
        if yespo_shape and all(p.flat.get(k) is None for k in IDENTIFYING):
            raise BadRequest(f"{w}: {NO_IDENTIFIER}" if w else NO_IDENTIFIER)
    items = [core.parse_contact_item(p.flat, w) for p, w in zip(parts, wheres, strict=True)]
    _ensure_field_defs(conn, org_id, items)
    ids, created = core.upsert_contacts(conn, org_id, items)
    _apply_profiles(conn, org_id, ids, parts, wheres)
    _apply_groups(conn, org_id, ids, parts, opts)
    return ids, created


def upsert_one(conn: Connection, org_id: int, raw: Any) -> ContactUpsertResult:
    ids, created = upsert(conn, org_id, [raw], [""], BulkOptions())
    return ContactUpsertResult(id=ids[0], created=created[0])


def parse_bulk(body: dict[str, Any]) -> tuple[list[Any], BulkOptions]:
    raw = body.get("contacts")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("contacts must be a non-empty array")
    if len(raw) > core.MAX_CONTACTS_PER_REQUEST:
        raise BadRequest(f"At most {core.MAX_CONTACTS_PER_REQUEST} contacts per request")
    return raw, parse_options(body)


def upsert_bulk(
    conn: Connection, org_id: int, raws: list[Any], opts: BulkOptions
) -> BulkUpsertResult:
    wheres = [f"contacts[{i}]" for i in range(len(raws))]
    ids, created = upsert(conn, org_id, raws, wheres, opts)
    n_created = sum(created)
    session_id = str(uuid.uuid4())
    repo.insert_import_session(
        conn,
        {
            "id": session_id,
            "organization_id": org_id,
            "status": "FINISHED",
            "created": n_created,
            "updated": len(ids) - n_created,
            "contact_ids": ids,
            "created_at": utcnow(),
        },
    )
    return BulkUpsertResult(
        asyncSessionId=session_id, created=n_created, updated=len(ids) - n_created, ids=ids
    )


def import_status(conn: Connection, org_id: int, session_id: str) -> ImportStatus:
    row = repo.get_import_session(conn, org_id, session_id) if len(session_id) <= 36 else None
    if row is None:
        raise NotFound(IMPORT_NOT_FOUND)
    return ImportStatus(
        asyncSessionId=row.id,
        status="FINISHED",
        created=int(row.created),
        updated=int(row.updated),
        ids=list(row.contact_ids or []),
    )


def update_contact(conn: Connection, org_id: int, contact_id: int, raw: Any) -> None:
    """PUT /v1/contact/{id}: changes that contact (404 when there is none)."""
    if (
        not 1 <= contact_id <= core.MAX_ID
        or core_repo.get_contact(conn, org_id, contact_id) is None
    ):
        raise NotFound(core.CONTACT_NOT_FOUND)
    if not isinstance(raw, dict):
        raise BadRequest("Body must be an object")
    body = {**raw, "contactId": contact_id, "id": contact_id}
    upsert(conn, org_id, [body], [""], BulkOptions(dedupe_on="id"))


def delete_by_external_id(conn: Connection, org_id: int, external_id: str | None) -> int:
    """Deletes the contact holding ``external_id``; returns its id."""
    value = clean_identifier("", "externalCustomerId", external_id)
    if value is None:
        raise BadRequest("externalCustomerId must be specified")
    found = repo.contact_ids_by(conn, org_id, "external_customer_id", [value])
    if value not in found:
        raise NotFound(core.CONTACT_NOT_FOUND)
    core.delete_contact(conn, org_id, found[value])
    return int(found[value])


def subscribe(conn: Connection, org_id: int, body: dict[str, Any]) -> int:
    """POST /v1/contact/subscribe: adds or updates the contact and puts it in ``groups``."""
    contact = body.get("contact")
    if not isinstance(contact, dict):
        raise BadRequest("contact must be an object")
    opts = BulkOptions(group_names=_name_list(body, "groups"))
    ids, _ = upsert(conn, org_id, [contact], ["contact"], opts)
    return ids[0]

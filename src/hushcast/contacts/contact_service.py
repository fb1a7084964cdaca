"""Contacts: add or update (one or in bulk), read, delete. Never commits.

Matching follows token registration (and Yespo): contactId, then
externalCustomerId, then phone, then email; an identifier matches the oldest
contact holding it. Custom fields are stored in ``contacts.fields`` as one JSON
object ``{name: value}`` (values are strings, numbers or booleans).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from hushcast.contacts import contact_repository as repo
from hushcast.contacts.schemas import (
    ContactFieldOut,
    ContactGroupOut,
    ContactListItem,
    ContactOut,
    ContactsUpsertResult,
    ContactTokenOut,
    ContactUpsertResult,
)
from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.ids import positive_int
from hushcast.core.timeutil import iso, utcnow
from hushcast.webhooks import outbox as webhook_outbox

MAX_CONTACTS_PER_REQUEST = 10_000
MAX_FIELDS_PER_CONTACT_ITEM = 100
MAX_FIELD_NAME_LEN = 100
MAX_FIELD_VALUE_LEN = 10_000
MAX_NAME_LEN = 200
MAX_ID = 2**63 - 1
PHONE_CHARS = frozenset("0123456789+- ()")

# API name -> column, in matching order after contactId.
IDENTIFIERS = {"externalCustomerId": "external_customer_id", "phone": "phone", "email": "email"}
ATTRIBUTES = {"firstName": "first_name", "lastName": "last_name", "timeZone": "time_zone"}
MAX_LEN = {"externalCustomerId": 200, "phone": 50, "email": 320, "timeZone": 64}
VALUE_COLUMNS = (*IDENTIFIERS.values(), *ATTRIBUTES.values())

CONTACT_NOT_FOUND = "Contact not found"

# A contact in the working set: ("db", id) sorts before ("new", n), and both by age.
Ref = tuple[int, int]
DB, NEW = 0, 1


@dataclass
class ContactItem:
    """One validated add/update request item."""

    where: str  # "" for the single endpoint, "contacts[3]" in bulk
    contact_id: int | None
    values: dict[str, str] = field(default_factory=dict)  # column -> value (non-empty)
    fields: dict[str, Any] = field(default_factory=dict)  # name -> value (None removes)

    @property
    def has_identifier(self) -> bool:
        return any(col in self.values for col in IDENTIFIERS.values())


def _err(where: str, name: str, msg: str) -> BadRequest:
    loc = f"{where}.{name}" if where else name
    return BadRequest(f"{loc}: {msg}")


def _text(where: str, name: str, value: Any, max_len: int, allow_int: bool = False) -> str | None:
    """A stripped string, or None for null / empty."""
    if value is None:
        return None
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _err(where, name, "must be a string")
    if "\x00" in value:
        raise _err(where, name, "must not contain NUL characters")
    text = value.strip()
    if not text:
        return None
    if len(text) > max_len:
        raise _err(where, name, f"is longer than {max_len} characters")
    return text


def clean_identifier(where: str, name: str, raw: Any) -> str | None:
    """externalCustomerId, phone or email, checked the same way everywhere; None if empty."""
    value = _text(where, name, raw, MAX_LEN[name], allow_int=name != "email")
    if value is None:
        return None
    if name == "email" and "@" not in value:
        raise _err(where, name, "must be an email address")
    if name == "phone" and (
        not set(value) <= PHONE_CHARS or not any("0" <= ch <= "9" for ch in value)
    ):
        raise _err(where, name, "may hold only digits, +, -, spaces and parentheses")
    return value


def _check_time_zone(where: str, name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _err(where, "timeZone", f"unknown time zone '{name}'") from None


def _field_value(where: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _err(where, "value", "must be a finite number")
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise _err(where, "value", "must not contain NUL characters")
        if len(value) > MAX_FIELD_VALUE_LEN:
            raise _err(where, "value", f"is longer than {MAX_FIELD_VALUE_LEN} characters")
        return value
    raise _err(where, "value", "must be a string, number, boolean or null")


def _parse_fields(where: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise _err(where, "fields", "must be an array of {name, value}")
    if len(raw) > MAX_FIELDS_PER_CONTACT_ITEM:
        raise _err(where, "fields", f"at most {MAX_FIELDS_PER_CONTACT_ITEM} entries")
    result: dict[str, Any] = {}
    for i, entry in enumerate(raw):
        at = f"{where}.fields[{i}]" if where else f"fields[{i}]"
        if not isinstance(entry, dict):
            raise BadRequest(f"{at}: must be an object with name and value")
        name = _text(at, "name", entry.get("name"), MAX_FIELD_NAME_LEN)
        if name is None:
            raise _err(at, "name", "is required")
        if "value" not in entry:
            raise _err(at, "value", "is required (null removes the field)")
        result[name] = _field_value(at, entry["value"])
    return result


def parse_contact_item(raw: Any, where: str = "") -> ContactItem:
    """Validates one item; error details name the item (``where``) and the attribute."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{where}: must be an object" if where else "Body must be an object")
    contact_id = raw.get("contactId")
    if contact_id is not None:
        contact_id = positive_int(contact_id)
        if contact_id is None:
            raise _err(where, "contactId", "must be a positive integer")
    item = ContactItem(where, contact_id)
    for name, col in IDENTIFIERS.items():
        value = clean_identifier(where, name, raw.get(name))
        if value is not None:
            item.values[col] = value
    for name, col in ATTRIBUTES.items():
        value = _text(where, name, raw.get(name), MAX_LEN.get(name, MAX_NAME_LEN))
        if value is None:
            continue
        if name == "timeZone":
            _check_time_zone(where, value)
        item.values[col] = value
    item.fields = _parse_fields(where, raw.get("fields"))
    if contact_id is None and not item.has_identifier:
        msg = "at least one of contactId, externalCustomerId, phone, email is required"
        raise BadRequest(f"{where}: {msg}" if where else msg[0].upper() + msg[1:])
    return item


def parse_contacts_body(body: dict[str, Any]) -> list[ContactItem]:
    raw = body.get("contacts")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("contacts must be a non-empty array")
    if len(raw) > MAX_CONTACTS_PER_REQUEST:
        raise BadRequest(f"At most {MAX_CONTACTS_PER_REQUEST} contacts per request")
    return [parse_contact_item(entry, f"contacts[{i}]") for i, entry in enumerate(raw)]


@dataclass
class _Working:
    """A contact as the batch leaves it."""

    ref: Ref
    values: dict[str, Any]  # every column of VALUE_COLUMNS
    fields: dict[str, Any]
    changed: bool = False


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _check_free(it: ContactItem, col: str, value: str, others: set[Ref]) -> None:
    """An identifier names one contact per organisation (a unique index says so too):
    giving the matched contact a value another contact holds is a 409, not a merge."""
    if not others:
        return
    name = next(n for n, c in IDENTIFIERS.items() if c == col)
    other = min(others)
    whose = f"contact {other[1]}" if other[0] == DB else "another contact of this request"
    loc = f"{it.where}.{name}" if it.where else name
    raise ApiError(409, f"{loc}: '{value}' already belongs to {whose}")


def upsert_contacts(
    conn: Connection, org_id: int, items: list[ContactItem]
) -> tuple[list[int], list[bool]]:
    """Adds or updates every item, whole or not at all (raises BadRequest before any
    write). Returns the contact id and whether it was created, per item in order."""
    now = utcnow()
    wanted: dict[str, list[str]] = {col: [] for col in IDENTIFIERS.values()}
    for it in items:
        for col in IDENTIFIERS.values():
            if col in it.values:
                wanted[col].append(it.values[col])
    ids = [it.contact_id for it in items if it.contact_id is not None and it.contact_id <= MAX_ID]
    rows = repo.load_candidates(conn, org_id, ids, wanted)

    state: dict[Ref, _Working] = {}
    # identifier column -> value -> refs of contacts holding it (the oldest matches).
    holders: dict[str, dict[str, set[Ref]]] = {col: {} for col in IDENTIFIERS.values()}

    def hold(col: str, value: Any, ref: Ref) -> None:
        if value is not None:
            holders[col].setdefault(value, set()).add(ref)

    def release(col: str, value: Any, ref: Ref) -> None:
        if value is not None:
            holders[col].get(value, set()).discard(ref)

    for r in rows:
        db_ref = (DB, int(r.id))
        stored = r.fields if isinstance(r.fields, dict) else {}
        values = {col: r._mapping[col] for col in VALUE_COLUMNS}
        state[db_ref] = _Working(db_ref, values, dict(stored))
        for col in IDENTIFIERS.values():
            hold(col, values[col], db_ref)

    new_refs: list[Ref] = []
    matched: list[Ref] = []
    created: list[bool] = []
    for it in items:
        ref: Ref | None = None
        if it.contact_id is not None and (DB, it.contact_id) in state:
            ref = (DB, it.contact_id)
        if ref is None:
            for col in IDENTIFIERS.values():
                found = holders[col].get(it.values.get(col, ""))
                if found:
                    ref = min(found)
                    break
        if ref is None:
            if not it.has_identifier:
                raise _err(it.where, "contactId", f"contact {it.contact_id} not found")
            ref = (NEW, len(new_refs))
            new_refs.append(ref)
            values = {col: it.values.get(col) for col in VALUE_COLUMNS}
            fields = {k: v for k, v in it.fields.items() if v is not None}
            state[ref] = _Working(ref, values, fields, changed=True)
            for col in IDENTIFIERS.values():
                hold(col, values[col], ref)
            created.append(True)
        else:
            w = state[ref]
            for col, value in it.values.items():
                if w.values[col] == value:
                    continue
                if col in holders:
                    _check_free(it, col, value, holders[col].get(value, set()) - {ref})
                    release(col, w.values[col], ref)
                    hold(col, value, ref)
                w.values[col] = value
                w.changed = True
            for name, value in it.fields.items():
                if value is None:
                    if name in w.fields:
                        del w.fields[name]
                        w.changed = True
                elif name not in w.fields or not _same(w.fields[name], value):
                    w.fields[name] = value
                    w.changed = True
            created.append(False)
        matched.append(ref)

    new_ids = repo.insert_contacts(
        conn,
        [
            {
                "organization_id": org_id,
                **state[ref].values,
                "fields": state[ref].fields or None,
                "created_at": now,
                "updated_at": now,
            }
            for ref in new_refs
        ],
    )
    updates = []
    for w in state.values():
        if w.ref[0] == DB and w.changed:
            row = {repo.UPDATE_BINDS[col]: w.values[col] for col in VALUE_COLUMNS}
            row[repo.UPDATE_BINDS["fields"]] = w.fields or None
            row[repo.UPDATE_BINDS["updated_at"]] = now
            row["b_id"] = w.ref[1]
            updates.append(row)
    repo.update_contacts(conn, updates)

    out = [ref[1] if ref[0] == DB else new_ids[ref[1]] for ref in matched]
    return out, created


def upsert_contact(conn: Connection, org_id: int, item: ContactItem) -> ContactUpsertResult:
    ids, created = upsert_contacts(conn, org_id, [item])
    return ContactUpsertResult(id=ids[0], created=created[0])


def upsert_contacts_bulk(
    conn: Connection, org_id: int, items: list[ContactItem]
) -> ContactsUpsertResult:
    ids, created = upsert_contacts(conn, org_id, items)
    n_created = sum(created)
    return ContactsUpsertResult(created=n_created, updated=len(created) - n_created, ids=ids)


def _valid_id(contact_id: int) -> bool:
    return 1 <= contact_id <= MAX_ID


def get_contact(conn: Connection, org_id: int, contact_id: int) -> ContactOut:
    row = repo.get_contact(conn, org_id, contact_id) if _valid_id(contact_id) else None
    if row is None:
        raise NotFound(CONTACT_NOT_FOUND)
    stored = row.fields if isinstance(row.fields, dict) else {}
    return ContactOut(
        id=int(row.id),
        firstName=row.first_name,
        lastName=row.last_name,
        email=row.email,
        phone=row.phone,
        externalCustomerId=row.external_customer_id,
        timeZone=row.time_zone,
        fields=[ContactFieldOut(name=k, value=v) for k, v in stored.items()],
        createdAt=iso(row.created_at) or "",
        updatedAt=iso(row.updated_at) or "",
        tokens=[
            ContactTokenOut(
                appUuid=t.uuid,
                token=t.token,
                active=bool(t.active),
                mutedUntil=iso(t.muted_until),
            )
            for t in repo.tokens_of_contact(conn, int(row.id), utcnow())
        ],
        groups=[
            ContactGroupOut(id=int(g.id), name=g.name)
            for g in repo.groups_of_contact(conn, int(row.id))
        ],
    )


def delete_contact(conn: Connection, org_id: int, contact_id: int) -> None:
    """Deletes the contact with its tokens and group memberships; mutes stay."""
    if not _valid_id(contact_id):
        raise NotFound(CONTACT_NOT_FOUND)
    # Delivery events still to be sent keep the contact's identifiers (their bodies
    # are otherwise built when sent); on a 404 the request's transaction rolls back.
    webhook_outbox.materialize_delivery_events(conn, contact_id=contact_id)
    if not repo.delete_contact(conn, org_id, contact_id):
        raise NotFound(CONTACT_NOT_FOUND)


def list_contacts(
    conn: Connection, org_id: int, search: str | None, offset: int, limit: int
) -> tuple[list[ContactListItem], int]:
    """A page of the organisation's contacts (search: identifiers, names, chat ids)."""
    total = repo.count_contacts(conn, org_id, search)
    return [
        ContactListItem(
            id=int(r.id),
            firstName=r.first_name,
            lastName=r.last_name,
            externalCustomerId=r.external_customer_id,
            phone=r.phone,
            email=r.email,
            tokens=int(r.token_count),
            createdAt=iso(r.created_at) or "",
        )
        for r in repo.list_contacts(conn, org_id, search, offset, limit)
    ], total

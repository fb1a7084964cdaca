"""Contacts read in Yespo's shape: one contact with its tokens, search, a group's
members, the address book's fields. Never writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import contact_repository as core_repo
from hushcast.contacts import contact_service as core
from hushcast.contacts.schemas import ContactTokenOut
from hushcast.core.errors import NotFound
from hushcast.core.timeutil import iso, utcnow
from hushcast.groups import service as groups_service
from hushcast.yespo import contact_repository as repo
from hushcast.yespo.contact_schemas import (
    AddressBookFieldOut,
    AddressBookOut,
    AddressBooksOut,
    AddressOut,
    ChannelOut,
    FieldGroupOut,
    FieldTypeOut,
    YespoContactDetail,
    YespoContactOut,
    YespoFieldOut,
    YespoGroupOut,
)

ADDRESS_BOOK_ID = 1
ADDRESS_BOOK_NAME = "Contacts"


def to_out(conn: Connection, org_id: int, rows: list[Any]) -> list[YespoContactOut]:
    ids = [int(r.id) for r in rows]
    profiles = repo.profiles_of(conn, ids)
    names = {n for r in rows if isinstance(r.fields, dict) for n in r.fields}
    field_ids = repo.field_ids_by_names(conn, org_id, list(names))
    groups = repo.groups_of_contacts(conn, ids)
    out = []
    for r in rows:
        p = profiles.get(int(r.id))
        stored = r.fields if isinstance(r.fields, dict) else {}
        channels = [ChannelOut(type="email", value=r.email)] if r.email else []
        if r.phone:
            channels.append(ChannelOut(type="sms", value=r.phone))
        address = p.address if p is not None and isinstance(p.address, dict) else None
        out.append(
            YespoContactOut(
                id=int(r.id),
                contactId=int(r.id),
                firstName=r.first_name,
                lastName=r.last_name,
                channels=channels,
                address=AddressOut(**address) if address else None,
                fields=[
                    YespoFieldOut(id=field_ids.get(k), name=k, value=v) for k, v in stored.items()
                ],
                externalCustomerId=r.external_customer_id,
                contactKey=p.contact_key if p is not None else None,
                languageCode=p.language_code if p is not None else None,
                timeZone=r.time_zone,
                email=r.email,
                phone=r.phone,
                groups=[
                    YespoGroupOut(id=int(g.id), name=g.name) for g in groups.get(int(r.id), [])
                ],
            )
        )
    return out


def get_contact(conn: Connection, org_id: int, contact_id: int) -> YespoContactDetail:
    row = (
        core_repo.get_contact(conn, org_id, contact_id) if 1 <= contact_id <= core.MAX_ID else None
    )
    if row is None:
        raise NotFound(core.CONTACT_NOT_FOUND)
    base = to_out(conn, org_id, [row])[0]
    return YespoContactDetail(
        **base.model_dump(),
        tokens=[
            ContactTokenOut(
                appUuid=t.uuid, token=t.token, active=bool(t.active), mutedUntil=iso(t.muted_until)
            )
            for t in core_repo.tokens_of_contact(conn, int(row.id), utcnow())
        ],
        createdAt=iso(row.created_at) or "",
        updatedAt=iso(row.updated_at) or "",
    )


# Search query parameter -> column.
SEARCH_PARAMS = {
    "email": "email",
    "sms": "phone",
    "externalCustomerId": "external_customer_id",
    "firstname": "first_name",
    "lastname": "last_name",
    "contactKey": "contact_key",
}


def search(
    conn: Connection, org_id: int, params: dict[str, str | None], offset: int, limit: int
) -> tuple[list[YespoContactOut], int]:
    filters = {
        SEARCH_PARAMS[k]: v.strip() for k, v in params.items() if v is not None and v.strip()
    }
    total = repo.count_contacts(conn, org_id, filters)
    rows = repo.search_contacts(conn, org_id, filters, offset, limit)
    return to_out(conn, org_id, rows), total


def address_books(conn: Connection, org_id: int) -> AddressBooksOut:
    fields = [
        AddressBookFieldOut(id=int(r.id), name=r.name, type=FieldTypeOut())
        for r in repo.all_field_defs(conn, org_id)
    ]
    return AddressBooksOut(
        addressBook=AddressBookOut(
            addressBookId=ADDRESS_BOOK_ID,
            name=ADDRESS_BOOK_NAME,
            fieldGroups=[FieldGroupOut(name="Custom fields", fields=fields)],
        )
    )


def group_members(
    conn: Connection, org_id: int, group_id: int, offset: int, limit: int
) -> tuple[list[YespoContactOut], int]:
    """A group's contacts in Yespo's shape, and how many it has."""
    members, total = groups_service.list_members(conn, org_id, group_id, offset, limit)
    rows = repo.contacts_by_ids(conn, org_id, [m.id for m in members])
    return to_out(conn, org_id, rows), total

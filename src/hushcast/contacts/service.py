"""Contacts and token registration, matched as Yespo matches. Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import repository as repo
from hushcast.contacts.contact_service import clean_identifier
from hushcast.contacts.schemas import TokenOut, TokensResult
from hushcast.core.chat_ids import parse_chat_id
from hushcast.core.errors import BadRequest
from hushcast.core.ids import positive_int
from hushcast.core.timeutil import iso, utcnow
from hushcast.webhooks import outbox as webhook_outbox

MAX_TOKENS_PER_REQUEST = 10_000
IDENTIFIERS = ("externalCustomerId", "phone", "email")
COLUMN_OF = {"externalCustomerId": "external_customer_id", "phone": "phone", "email": "email"}


@dataclass
class TokenItem:
    index: int
    token: str
    contact_id: int | None
    identifiers: dict[str, str] = field(default_factory=dict)

    @property
    def bare(self) -> bool:
        """A chat id alone: it keeps the contact it has, or gets a contact of its own."""
        return self.contact_id is None and not self.identifiers


def parse_token_items(body: dict[str, Any]) -> list[TokenItem]:
    raw = body.get("tokens")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("tokens must be a non-empty array")
    if len(raw) > MAX_TOKENS_PER_REQUEST:
        raise BadRequest(f"At most {MAX_TOKENS_PER_REQUEST} tokens per request")
    items: list[TokenItem] = []
    for i, entry in enumerate(raw):
        if isinstance(entry, (str, int)) and not isinstance(entry, bool):
            entry = {"token": entry}  # a bare chat id, as in {"tokens": ["555"]}
        if not isinstance(entry, dict):
            raise BadRequest(f"tokens[{i}] must be an object or a chat id")
        token = parse_chat_id(entry.get("token"), f"tokens[{i}].token")
        contact_id = entry.get("contactId")
        if contact_id is not None:
            contact_id = positive_int(contact_id)
            if contact_id is None:
                raise BadRequest(f"tokens[{i}].contactId must be a positive integer")
        identifiers = {}
        for name in IDENTIFIERS:
            value = clean_identifier(f"tokens[{i}]", name, entry.get(name))
            if value is not None:
                identifiers[name] = value
        items.append(TokenItem(i, token, contact_id, identifiers))
    return items


def register_tokens(
    conn: Connection, org_id: int, app_id: int, items: list[TokenItem]
) -> TokensResult:
    """Applies a whole token batch; raises BadRequest (and the caller rolls back) on a bad item."""
    now = utcnow()
    # Load every contact the batch could match, in a few set-based queries.
    known_ids = repo.existing_contact_ids(
        conn, org_id, [it.contact_id for it in items if it.contact_id is not None]
    )
    # identifier name -> value -> ("db", contact id) or ("new", index into new_contacts)
    lookup: dict[str, dict[str, tuple[str, int]]] = {}
    for name in IDENTIFIERS:
        values = [it.identifiers[name] for it in items if name in it.identifiers]
        found = repo.contacts_by_identifier(conn, org_id, COLUMN_OF[name], values)
        lookup[name] = {v: ("db", cid) for v, cid in found.items()}

    # A bare chat id already registered with this bot stays with its contact.
    held = {
        token: ("db", int(row.contact_id))
        for token, row in repo.tokens_of_app(
            conn, app_id, sorted({it.token for it in items if it.bare})
        ).items()
    }
    new_contacts: list[dict[str, Any]] = []
    matched: list[tuple[str, int]] = []
    for it in items:
        ref: tuple[str, int] | None = held.get(it.token) if it.bare else None
        if it.contact_id is not None and it.contact_id in known_ids:
            ref = ("db", it.contact_id)
        if ref is None:
            for name in IDENTIFIERS:
                value = it.identifiers.get(name)
                if value is not None and value in lookup[name]:
                    ref = lookup[name][value]
                    break
        if ref is None:
            if it.contact_id is not None and not it.identifiers:
                raise BadRequest(f"tokens[{it.index}]: contact {it.contact_id} not found")
            ref = ("new", len(new_contacts))
            new_contacts.append(
                {
                    "organization_id": org_id,
                    "external_customer_id": it.identifiers.get("externalCustomerId"),
                    "phone": it.identifiers.get("phone"),
                    "email": it.identifiers.get("email"),
                    "fields": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            # Later items of the same batch match the contact created here.
            for name, value in it.identifiers.items():
                lookup[name].setdefault(value, ref)
            if it.bare:
                held[it.token] = ref
        matched.append(ref)

    new_ids = repo.insert_contacts(conn, new_contacts)

    def contact_of(ref: tuple[str, int]) -> int:
        return ref[1] if ref[0] == "db" else new_ids[ref[1]]

    # The last item naming a token decides where it goes.
    target: dict[str, int] = {}
    for it, ref in zip(items, matched, strict=True):
        target[it.token] = contact_of(ref)

    existing = repo.tokens_of_app(conn, app_id, list(target))
    inserts: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    moved = reactivated = unchanged = 0
    for token, cid in target.items():
        row = existing.get(token)
        if row is None:
            inserts.append(
                {
                    "app_id": app_id,
                    "contact_id": cid,
                    "token": token,
                    "active": True,
                    "created_at": now,
                }
            )
        elif int(row.contact_id) != cid:
            moves.append({"tid": row.id, "cid": cid})
            moved += 1
        elif not row.active:
            # The user started the bot again after blocking it.
            moves.append({"tid": row.id, "cid": cid})
            reactivated += 1
        else:
            unchanged += 1
    repo.insert_tokens(conn, inserts)
    repo.reassign_tokens(conn, moves)
    webhook_outbox.record_token_changes(conn, app_id, target, existing)
    return TokensResult(
        contactsCreated=len(new_ids),
        tokensAdded=len(inserts),
        tokensMoved=moved,
        tokensReactivated=reactivated,
        tokensUnchanged=unchanged,
    )


def list_tokens(
    conn: Connection,
    app_id: int,
    offset: int,
    limit: int,
    search: str | None = None,
    status: str | None = None,
) -> tuple[list[TokenOut], int]:
    """A page of the bot's tokens and the total; ``status``: one of repo.TOKEN_FILTERS."""
    now = utcnow()
    total = repo.count_tokens(conn, app_id, search, status, now)
    rows = repo.list_tokens(conn, app_id, now, offset, limit, search, status)
    return [
        TokenOut(
            token=r.token,
            contactId=int(r.contact_id),
            externalCustomerId=r.external_customer_id,
            phone=r.phone,
            email=r.email,
            active=bool(r.active),
            mutedUntil=iso(r.muted_until),
        )
        for r in rows
    ], total

"""Telegram base messages: create, read, replace, delete, search. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from hushcast.core.errors import ApiError, BadRequest, NotFound
from hushcast.core.timeutil import iso, utcnow
from hushcast.messages import repository as repo
from hushcast.messages.render import TemplateError, check_template
from hushcast.messages.schemas import ButtonOut, MessageIn, MessageOut, TranslationView

MESSAGE_NOT_FOUND = "Message not found"
MESSAGE_IN_USE = "Message is used by a broadcast"
MAX_ID = 2**63 - 1


def _check_templates(body: MessageIn) -> None:
    """Every text that is rendered later must compile now."""
    sources = [("text", body.text)]
    for i, button in enumerate(body.buttons or []):
        sources.append((f"buttons[{i}].text", button.text))
        sources.append((f"buttons[{i}].link", button.link))
    for field, source in sources:
        try:
            check_template(source)
        except TemplateError as exc:
            raise BadRequest(f"{field}: invalid template: {exc}") from None


def _values(body: MessageIn) -> dict[str, Any]:
    return {
        "name": body.name,
        "text": body.text,
        "image_source": body.imageSource,
        "buttons": [{"text": b.text, "link": b.link} for b in body.buttons or []],
        "tags": list(body.tags or []),
    }


def _buttons(value: Any) -> list[ButtonOut]:
    return [
        ButtonOut(text=str(b.get("text", "")), link=str(b.get("link", "")))
        for b in (value if isinstance(value, list) else [])
        if isinstance(b, dict)
    ]


def to_out(row: Any, translations: list[Any] | None = None) -> MessageOut:
    tags = row.tags if isinstance(row.tags, list) else []
    versions = translations or []
    return MessageOut(
        id=row.id,
        name=row.name,
        text=row.text,
        imageSource=row.image_source,
        buttons=_buttons(row.buttons),
        tags=[str(t) for t in tags],
        createdAt=iso(row.created_at),
        updatedAt=iso(row.updated_at),
        languages=[t.language_code for t in versions],
        translations=[
            TranslationView(
                name=row.name,
                languageCode=t.language_code,
                text=t.text,
                imageSource=t.image_source,
                buttons=_buttons(t.buttons),
            )
            for t in versions
        ],
    )


def _resolve(conn: Connection, org_id: int, message_id: int) -> Any:
    """The caller's message; another organisation's message is unknown."""
    if not 0 < message_id <= MAX_ID:
        raise NotFound(MESSAGE_NOT_FOUND)
    row = repo.get_message(conn, org_id, message_id)
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return row


def create_message(conn: Connection, org_id: int, body: MessageIn) -> int:
    _check_templates(body)
    now = utcnow()
    values = _values(body)
    values.update(organization_id=org_id, created_at=now, updated_at=now)
    return repo.insert_message(conn, values)


def get_message(conn: Connection, org_id: int, message_id: int) -> MessageOut:
    row = _resolve(conn, org_id, message_id)
    return to_out(row, repo.translations_of(conn, [int(row.id)]).get(int(row.id)))


def replace_message(conn: Connection, org_id: int, message_id: int, body: MessageIn) -> MessageOut:
    _resolve(conn, org_id, message_id)
    _check_templates(body)
    values = _values(body)
    values["updated_at"] = utcnow()
    repo.update_message(conn, org_id, message_id, values)
    return get_message(conn, org_id, message_id)


def delete_message(conn: Connection, org_id: int, message_id: int) -> None:
    _resolve(conn, org_id, message_id)
    if repo.used_by_broadcast(conn, message_id):
        raise ApiError(409, MESSAGE_IN_USE)
    try:
        repo.delete_message(conn, org_id, message_id)
    except IntegrityError:
        # A broadcast was created meanwhile (FK RESTRICT); the transaction rolls back.
        raise ApiError(409, MESSAGE_IN_USE) from None


def list_messages(
    conn: Connection, org_id: int, search: str | None, offset: int, limit: int
) -> tuple[list[MessageOut], int]:
    search = (search or "").strip() or None
    rows, total = repo.list_messages(conn, org_id, search, offset, limit)
    versions = repo.translations_of(conn, [int(r.id) for r in rows])
    return [to_out(r, versions.get(int(r.id))) for r in rows], total

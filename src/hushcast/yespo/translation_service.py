"""Language versions of Telegram messages (Yespo's PUT|DELETE
/messages/telegram/{id}/{language}, ``languages`` and ``translations``). Never commits.

``pick`` is the send path's hook: given a message row, its translations and the
recipient's languageCode, it returns what to render (see README, "Language versions").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.timeutil import utcnow
from hushcast.messages.languages import choose_language
from hushcast.messages.render import MAX_TEXT, MAX_TEXT_WITH_IMAGE, TemplateError, check_template
from hushcast.messages.schemas import ButtonOut
from hushcast.messages.service import MESSAGE_NOT_FOUND
from hushcast.yespo import translation_repository as repo
from hushcast.yespo.translation_schemas import MessageLanguages, TranslationIn, TranslationOut

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?")
BAD_LANGUAGE = "language must be a language code such as en, uk or pt-BR"
TRANSLATION_NOT_FOUND = "Translation not found"


@dataclass(frozen=True)
class Content:
    text: str
    image_source: str | None
    buttons: list[dict[str, str]]


def language_code(value: str) -> str:
    text = value.strip()
    if not _LANGUAGE.fullmatch(text):
        raise BadRequest(BAD_LANGUAGE)
    return text.replace("_", "-").lower()


def pick(message: Any, translations: list[Any], language: str | None) -> Content:
    """The content to send for ``language``: its translation if the message has one
    (matching ``pt-br`` to ``pt`` when only that exists), else the message itself."""
    by_code = {t.language_code: t for t in translations}
    code = choose_language(by_code, language)
    if code is not None:
        found = by_code[code]
        return Content(found.text, found.image_source, list(found.buttons or []))
    return Content(message.text, message.image_source, list(message.buttons or []))


def _require(conn: Connection, org_id: int, message_id: int) -> None:
    if not 0 < message_id < 2**63 or repo.message_of_org(conn, org_id, message_id) is None:
        raise NotFound(MESSAGE_NOT_FOUND)


def _check(body: TranslationIn) -> None:
    limit = MAX_TEXT_WITH_IMAGE if body.imageSource else MAX_TEXT
    if not body.text.strip() or len(body.text) > limit:
        raise BadRequest(f"text: must be 1 to {limit} characters")
    sources = [("text", body.text)]
    for i, b in enumerate(body.buttons or []):
        sources += [(f"buttons[{i}].text", b.text), (f"buttons[{i}].link", b.link)]
    for name, source in sources:
        try:
            check_template(source)
        except TemplateError as exc:
            raise BadRequest(f"{name}: invalid template: {exc}") from None


def _out(row: Any) -> TranslationOut:
    return TranslationOut(
        languageCode=row.language_code,
        text=row.text,
        imageSource=row.image_source,
        buttons=[ButtonOut(text=str(b["text"]), link=str(b["link"])) for b in row.buttons or []],
    )


def put_translation(
    conn: Connection, org_id: int, message_id: int, language: str, body: TranslationIn
) -> TranslationOut:
    _require(conn, org_id, message_id)
    code = language_code(language)
    _check(body)
    repo.delete_translation(conn, message_id, code)
    # A new message version: the worker's template cache and pre-send check see it.
    repo.touch_message(conn, message_id, utcnow())
    repo.insert_translation(
        conn,
        {
            "message_id": message_id,
            "language_code": code,
            "text": body.text,
            "image_source": body.imageSource,
            "buttons": [{"text": b.text, "link": b.link} for b in body.buttons or []] or None,
        },
    )
    return _out(repo.get_translation(conn, message_id, code))


def delete_translation(conn: Connection, org_id: int, message_id: int, language: str) -> None:
    _require(conn, org_id, message_id)
    if not repo.delete_translation(conn, message_id, language_code(language)):
        raise NotFound(TRANSLATION_NOT_FOUND)
    repo.touch_message(conn, message_id, utcnow())


def languages(conn: Connection, org_id: int, message_id: int) -> MessageLanguages:
    _require(conn, org_id, message_id)
    rows = repo.translations_of(conn, message_id)
    return MessageLanguages(
        id=message_id,
        languages=[r.language_code for r in rows],
        translations=[_out(r) for r in rows],
    )

"""Language versions of Telegram messages: PUT|DELETE /messages/telegram/{id}/{language}
(Yespo's), GET /messages/telegram/{id}/languages (Hushcast extension)."""

from __future__ import annotations

from fastapi import APIRouter

from hushcast.core.deps import ReadConn, WriteConn
from hushcast.orgs.deps import CurrentPrincipal
from hushcast.yespo import translation_service as service
from hushcast.yespo.translation_schemas import MessageLanguages, TranslationIn, TranslationOut

router = APIRouter(tags=["messages"])


@router.get("/messages/telegram/{message_id}/languages", response_model=MessageLanguages)
def message_languages(
    message_id: int, principal: CurrentPrincipal, conn: ReadConn
) -> MessageLanguages:
    """The message's ``languages`` and ``translations``."""
    return service.languages(conn, principal.organization_id, message_id)


@router.put("/messages/telegram/{message_id}/{language}", response_model=TranslationOut)
def put_translation(
    message_id: int,
    language: str,
    body: TranslationIn,
    principal: CurrentPrincipal,
    conn: WriteConn,
) -> TranslationOut:
    """Adds or replaces the message's version in ``language`` (smartsend's languageCode
    picks it)."""
    return service.put_translation(conn, principal.organization_id, message_id, language, body)


@router.delete("/messages/telegram/{message_id}/{language}", response_model=MessageLanguages)
def delete_translation(
    message_id: int, language: str, principal: CurrentPrincipal, conn: WriteConn
) -> MessageLanguages:
    """Deletes one language version; 200 with the languages left, as Yespo answers 200."""
    service.delete_translation(conn, principal.organization_id, message_id, language)
    return service.languages(conn, principal.organization_id, message_id)

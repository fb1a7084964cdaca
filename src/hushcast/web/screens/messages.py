"""Messages: the list, the editor with its live preview, and test sends."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hushcast.bots import service as bots_service
from hushcast.core.deps import get_db
from hushcast.core.errors import ApiError
from hushcast.messages import service as messages_service
from hushcast.messages.schemas import MAX_BUTTONS, MessageIn
from hushcast.sending import service as sending_service
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    check_id,
    field_errors,
    is_htmx,
    org_of,
    pages,
    redirect,
    render,
    router,
)

LIST_PAGE = 20
_FIELD_PREFIX = re.compile(r"^(text|name|imageSource|buttons\[(\d+)\]\.(text|link)):\s*")


@router.get("/messages")
def messages_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    with get_db(request).read() as conn:
        items, total = messages_service.list_messages(
            conn, org_of(session), q, (page - 1) * LIST_PAGE, LIST_PAGE
        )
    return render(
        request,
        session,
        "messages.html",
        messages=items,
        q=q,
        paging=pages(total, page, LIST_PAGE),
        query_base=urlencode({"q": q}) if q else "",
    )


def _editor(
    request: Request,
    session: UISession,
    message_id: int | None,
    form: dict[str, Any],
    status: int = 200,
    **values: Any,
) -> Response:
    with get_db(request).read() as conn:
        apps = bots_service.list_apps(conn, org_of(session))
    values.setdefault("errors", {})
    return render(
        request,
        session,
        "message_edit.html",
        status_code=status,
        message_id=message_id,
        form=form,
        apps=apps,
        max_buttons=MAX_BUTTONS,
        **values,
    )


@router.get("/messages/new")
def new_message(request: Request, session: SessionDep) -> Response:
    form = {"name": "", "text": "", "imageSource": "", "buttons": [], "tags": ""}
    return _editor(request, session, None, form)


@router.get("/messages/{message_id}")
def edit_message(
    request: Request, session: SessionDep, message_id: int, saved: int = 0
) -> Response:
    with get_db(request).read() as conn:
        m = messages_service.get_message(conn, org_of(session), check_id(message_id))
    form = {
        "name": m.name,
        "text": m.text,
        "imageSource": m.imageSource or "",
        "buttons": [b.model_dump() for b in m.buttons],
        "tags": ", ".join(m.tags),
    }
    return _editor(request, session, m.id, form, ok="Saved." if saved else None)


def _form(
    name: str, text: str, image: str, texts: list[str], links: list[str], tags: str
) -> dict[str, Any]:
    buttons = [
        {"text": t, "link": link}
        for t, link in zip(texts, links, strict=False)
        if t.strip() or link.strip()
    ]
    return {"name": name, "text": text, "imageSource": image, "buttons": buttons, "tags": tags}


def _body(form: dict[str, Any]) -> dict[str, Any]:
    tags = [t.strip() for t in form["tags"].split(",") if t.strip()]
    return {
        "name": form["name"],
        "text": form["text"].replace("\r\n", "\n"),
        "imageSource": form["imageSource"].strip() or None,
        "buttons": form["buttons"] or None,
        "tags": tags or None,
    }


def _api_error_field(detail: str) -> tuple[str, str]:
    """The API's "buttons[0].link: ..." as ("buttons.0.link", "...")."""
    m = _FIELD_PREFIX.match(detail)
    if m is None:
        return "form", detail
    key = f"buttons.{m.group(2)}.{m.group(3)}" if m.group(2) else m.group(1)
    return key, detail[m.end() :]


@router.post("/messages/save")
def save_message(
    request: Request,
    session: CsrfSession,
    message_id: Annotated[str, Form(max_length=25)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    text: Annotated[str, Form(max_length=20000)] = "",
    imageSource: Annotated[str, Form(max_length=3000)] = "",
    button_text: Annotated[list[str] | None, Form(max_length=MAX_BUTTONS + 1)] = None,
    button_link: Annotated[list[str] | None, Form(max_length=MAX_BUTTONS + 1)] = None,
    tags: Annotated[str, Form(max_length=6000)] = "",
) -> Response:
    """Creates (POST /v1/messages/telegram) or replaces (PUT .../{id}) a message."""
    existing = check_id(int(message_id)) if message_id.isdigit() else None
    form = _form(name, text, imageSource, button_text or [], button_link or [], tags)
    try:
        body = MessageIn.model_validate(_body(form))
    except ValidationError as exc:
        return _editor(request, session, existing, form, 400, errors=field_errors(exc))
    try:
        with get_db(request).transaction() as conn:
            if existing is None:
                saved_id = messages_service.create_message(conn, org_of(session), body)
            else:
                saved_id = messages_service.replace_message(
                    conn, org_of(session), existing, body
                ).id
    except ApiError as exc:
        if exc.status == 404:
            raise
        key, msg = _api_error_field(exc.detail)
        return _editor(request, session, existing, form, exc.status, errors={key: msg})
    return redirect(f"/ui/messages/{saved_id}?saved=1")


@router.post("/messages/{message_id}/test")
def test_send(
    request: Request,
    session: CsrfSession,
    message_id: int,
    app_uuid: Annotated[str, Form(max_length=100)] = "",
    chats: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The API's POST /v1/message/{id}/test to the chat ids typed in (registered ones)."""
    tokens = [t.strip() for t in re.split(r"[\s,;]+", chats) if t.strip()]
    results: list[Any] = []
    error = None
    if not tokens:
        error = "Enter at least one chat id"
    else:
        try:
            with get_db(request).transaction() as conn:
                out = sending_service.send_test(
                    conn,
                    org_of(session),
                    check_id(message_id),
                    {"appId": app_uuid or None, "tokens": tokens},
                )
            results = list(out.results)
        except ApiError as exc:
            if exc.status == 404 and "essage" in exc.detail:
                raise
            error = exc.detail
    return render(
        request,
        session,
        "_test_results.html",
        status_code=400 if error and not is_htmx(request) else 200,
        results=results,
        test_error=error,
    )

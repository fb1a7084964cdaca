"""Personalisation of one recipient: the template (cached by message version), the
render, and the rewriting of button links to the signed click redirect.

Everything that can go wrong here is that recipient's ``ERROR / TEMPLATE_ERROR``:
whatever the template or ``jsonParam`` makes the renderer raise (``TemplateError``,
``RecursionError``, ``MemoryError``, anything) never leaves :meth:`Personalizer.personalize`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from hushcast.delivery.job import Job, clean_text
from hushcast.messages.languages import choose_language
from hushcast.messages.render import (
    ContactData,
    MessageTemplate,
    RenderedMessage,
    TemplateError,
    compile_message,
)
from hushcast.tracking.links import make_click_url

# A stored link is a template when Velocity or a merge tag may change it per recipient.
_TEMPLATED = re.compile(r"\$|#[a-zA-Z{]|%[A-Za-z0-9_.]+\|[^%\n]*%")


@dataclasses.dataclass(frozen=True)
class RenderFailure:
    """Why a recipient's message could not be personalised (a cleaned description)."""

    description: str


@dataclasses.dataclass
class _Compiled:
    template: MessageTemplate | None
    error: str | None
    # Stored button links that may be rewritten (literal, http(s)); None where not.
    trackable: list[str | None]
    # The message's organisation: click links are signed bound to it.
    organization_id: int | None = None


async def render_recipient(
    template: MessageTemplate, contact: ContactData | None, json_param: str | None
) -> RenderedMessage:
    """The one call that renders a recipient: in-process within a small budget, in the
    template sandbox process past it, never holding the event loop (see
    MessageTemplate.render_async and docs/security.md)."""
    return await template.render_async(contact, json_param)


def describe(exc: BaseException) -> str:
    """A short, storable description of a render failure."""
    if isinstance(exc, TemplateError):
        text = str(exc)
    elif isinstance(exc, RecursionError):
        text = "the template or jsonParam is nested too deeply"
    elif isinstance(exc, MemoryError):
        text = "the template needs too much memory"
    else:
        text = f"the template could not be rendered ({type(exc).__name__}: {exc})"
    return clean_text(text, 300) or "the template could not be rendered"


def trackable_links(buttons: Any) -> list[str | None]:
    """Per stored button: its literal http(s) link, or None (templated, tg://, missing)."""
    out: list[str | None] = []
    for button in buttons or []:
        link = ""
        if isinstance(button, dict):
            link = str(button.get("link") or button.get("url") or "").strip()
        literal = (
            link.lower().startswith(("http://", "https://")) and _TEMPLATED.search(link) is None
        )
        out.append(link if literal else None)
    return out


def track_clicks(
    rendered: RenderedMessage,
    trackable: list[str | None],
    delivery_id: int,
    public_url: str,
    secret: str,
    organization_id: int | None = None,
) -> RenderedMessage:
    """Rewrites the button links that are the stored message's own literal links to the
    signed ``/c/`` redirect. A link that came out of the render different from the stored
    literal (its host may come from ``jsonParam``), or whose stored form is a template, is
    sent as it is: the redirect never points where the sender of ``jsonParam`` chose."""
    if not rendered.buttons:
        return rendered
    buttons = []
    changed = False
    for i, button in enumerate(rendered.buttons):
        stored = trackable[i] if i < len(trackable) else None
        if stored is not None and button.get("url") == stored:
            buttons.append(
                {
                    **button,
                    "url": make_click_url(public_url, secret, delivery_id, stored, organization_id),
                }
            )
            changed = True
        else:
            buttons.append(button)
    return dataclasses.replace(rendered, buttons=buttons) if changed else rendered


@dataclasses.dataclass
class _Version:
    """One version of a message: its row, its translations by code, and its templates
    compiled so far (None: the message itself; else a language code)."""

    row: Any
    translations: dict[str, Any]
    compiled: dict[str | None, _Compiled]


def _translated(row: Any, translation: Any) -> Any:
    """The message row with a translation's content (the name stays the message's)."""
    return SimpleNamespace(
        name=row.name,
        text=translation.text,
        image_source=translation.image_source,
        buttons=translation.buttons,
    )


class Personalizer:
    """Templates compiled once per (message id, version, language), rendered per recipient.

    The version is the message's ``updated_at`` as the pre-send check read it, so a
    ``PUT`` applies to every send whose check starts after the ``PUT`` committed (a
    translation's PUT or DELETE moves ``updated_at`` too).
    """

    def __init__(
        self,
        load_message: Callable[[int], Awaitable[Any]],
        *,
        click_tracking: bool,
        public_url: str,
        secret: Callable[[], str],
        load_translations: Callable[[int], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self._load = load_message
        self._load_translations = load_translations
        self.click_tracking = click_tracking
        self.public_url = public_url
        self._secret = secret
        self._cache: dict[tuple[int, object], _Version] = {}

    async def _version(self, message_id: int, version: object) -> _Version:
        found = self._cache.get((message_id, version))
        if found is not None:
            return found
        row = await self._load(message_id)
        translations: dict[str, Any] = {}
        if row is not None and self._load_translations is not None:
            for t in await self._load_translations(message_id):
                translations[t.language_code] = t
        entry = _Version(row, translations, {})
        # Older versions of this message are of no use any more.
        for key in [k for k in self._cache if k[0] == message_id]:
            del self._cache[key]
        self._cache[(message_id, version)] = entry
        if row is not None and row.updated_at != version:
            # Changed again since the check: the newer text is as right for this send.
            self._cache[(message_id, row.updated_at)] = entry
        return entry

    @staticmethod
    def _compile(entry: _Version, code: str | None) -> _Compiled:
        found = entry.compiled.get(code)
        if found is not None:
            return found
        row = entry.row
        if row is None:
            compiled = _Compiled(None, "the message was deleted", [])
        else:
            source = row if code is None else _translated(row, entry.translations[code])
            try:
                compiled = _Compiled(
                    compile_message(source),
                    None,
                    trackable_links(source.buttons),
                    getattr(row, "organization_id", None),
                )
            except Exception as exc:  # any failure is this message's TEMPLATE_ERROR
                compiled = _Compiled(None, describe(exc), [])
        entry.compiled[code] = compiled
        return compiled

    async def _compiled(
        self, message_id: int, version: object, language: str | None = None
    ) -> _Compiled:
        entry = await self._version(message_id, version)
        return self._compile(entry, choose_language(entry.translations, language))

    async def personalize(self, job: Job, version: object) -> RenderedMessage | RenderFailure:
        """The recipient's message (in the job's language when the message has that
        translation), or why it cannot be made. Only loading the message may raise (the
        database is unreachable): that is not the row's fault."""
        compiled = await self._compiled(job.message_id, version, job.language)
        if compiled.template is None:
            return RenderFailure(compiled.error or "the template could not be compiled")
        try:
            rendered = await render_recipient(compiled.template, job.contact, job.json_param)
            if self.click_tracking:
                rendered = track_clicks(
                    rendered,
                    compiled.trackable,
                    job.id,
                    self.public_url,
                    self._secret(),
                    compiled.organization_id,
                )
            return rendered
        except Exception as exc:  # RecursionError, MemoryError, a bug: this row only
            return RenderFailure(describe(exc))

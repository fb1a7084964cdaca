"""Personalising a Telegram message for one recipient, the Yespo way.

1. Velocity over ``{"data": <jsonParam object + contact fields>}``:
   ``$!data.get('key')``, ``.get(0)`` on lists, ``#if``, ``#foreach``, arithmetic.
   Parsed by airspeed, evaluated by :mod:`hushcast.messages.velocity` over plain JSON
   values with a fixed list of methods and a budget (see docs/security.md).
2. Then merge tags ``%NAME|fallback%`` from the contact (and ``%MESSAGENAME|%``).

Templates are compiled once per message version (:class:`MessageTemplate`) and
rendered per recipient. :meth:`MessageTemplate.render_async` keeps renders off the
event loop: a small in-process budget first, the sandbox process past it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hushcast.messages.template_values import (
    FAST,
    FULL,
    BudgetExceeded,
    Limits,
    TemplateError,
    java_str,
)
from hushcast.messages.velocity import compile_velocity, evaluate
from hushcast.messages.velocity_nodes import Program

__all__ = [
    "BudgetExceeded",
    "ContactData",
    "MessageTemplate",
    "RenderedMessage",
    "TemplateError",
    "check_template",
    "compile_message",
]

MAX_TEXT = 4096
MAX_TEXT_WITH_IMAGE = 1024
# After this many renders of one message version ran out of budget, its other
# recipients fail at once: a hostile template costs the sandbox a few seconds, not
# seconds per recipient.
MAX_BUDGET_FAILURES = 3
# A fast in-process render longer than this yields to the event loop afterwards.
_YIELD_AFTER_S = 0.0005

MERGE_TAG_RE = re.compile(r"%([A-Za-z0-9_.]+)\|([^%\n]*)%")


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    image_source: str | None
    buttons: list[dict[str, str]]  # [{"text": ..., "url": ...}] for an inline keyboard


@dataclass(frozen=True)
class ContactData:
    """What merge tags (and ``$data.get('FIRSTNAME')`` etc.) can read."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_customer_id: str | None = None
    contact_id: int | None = None
    fields: dict[str, Any] | None = None  # custom fields, name -> value


class _Compiled:
    """One template string: plain text is passed through without Velocity."""

    __slots__ = ("source", "program")

    def __init__(self, source: str) -> None:
        self.source = source
        self.program: Program | None = None
        if "$" in source or "#" in source:
            self.program = compile_velocity(source)

    def merge(self, context: dict[str, Any], limits: Limits) -> str:
        if self.program is None:
            return self.source
        return evaluate(self.program, context, limits)


def check_template(source: str) -> None:
    """Raises TemplateError when ``source`` is not a usable Velocity template."""
    _Compiled(source)


# --------------------------------------------------------------------------------------
# Rendering.


def parse_json_param(json_param: str | None) -> dict[str, Any]:
    if json_param is None or not json_param.strip():
        return {}
    try:
        value = json.loads(json_param)
    except (ValueError, RecursionError):
        raise TemplateError("jsonParam is not a JSON object") from None
    if not isinstance(value, dict):
        raise TemplateError("jsonParam is not a JSON object")
    return value


_SCALARS = frozenset({type(None), bool, int, float, str})


def _fresh(value: Any) -> Any:
    """A contact field as a template value of its own (templates may change lists and
    maps they read; the contact's copy must not change with them)."""
    if type(value) in _SCALARS:
        return value
    if type(value) in (list, dict):
        try:
            return json.loads(json.dumps(value))
        except (TypeError, ValueError, RecursionError):
            return None
    return str(value)


def _contact_values(contact: ContactData | None) -> dict[str, Any]:
    """Merge-tag names (upper case) -> value; custom fields keep their own names."""
    if contact is None:
        return {}
    values: dict[str, Any] = {}
    for name, value in (contact.fields or {}).items():
        values[str(name)] = value if type(value) in _SCALARS else _fresh(value)
    # The standard fields are strings and numbers already (see ContactData).
    values["FIRSTNAME"] = contact.first_name
    values["LASTNAME"] = contact.last_name
    values["EMAIL"] = contact.email
    values["SMS"] = contact.phone
    values["EXTERNAL_CUSTOMER_ID"] = contact.external_customer_id
    values["CONTACT_ID"] = contact.contact_id
    return values


def is_button_url(url: str) -> bool:
    """An http(s) URL with a host, or a tg:// deep link with something after it."""
    if not url or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return url[: len(scheme) + 3].lower() == scheme + "://" and bool(parts.hostname)
    if scheme == "tg":
        return url[:5].lower() == "tg://" and bool(parts.netloc or parts.path.strip("/"))
    return False


@dataclass(frozen=True)
class TemplateSpec:
    """What a MessageTemplate is made from: sent to the sandbox process as it is."""

    text: str
    image_source: str | None
    buttons: tuple[tuple[str, str], ...]
    message_name: str


class MessageTemplate:
    """Compiled once per message version, rendered per recipient."""

    def __init__(
        self,
        text: str,
        image_source: str | None,
        buttons: list[dict[str, Any]] | None,
        message_name: str = "",
    ) -> None:
        pairs = tuple(
            (str(b.get("text") or ""), str(b.get("link") or b.get("url") or ""))
            for b in buttons or []
        )
        self.spec = TemplateSpec(text, image_source or None, pairs, message_name or "")
        self.image_source = image_source or None
        self.message_name = message_name or ""
        self.max_text = MAX_TEXT_WITH_IMAGE if self.image_source else MAX_TEXT
        self._text = _Compiled(text)
        self._buttons = [(_Compiled(t), _Compiled(u)) for t, u in pairs]
        # Plain text (the common case) needs no Velocity context per recipient.
        self.uses_velocity = self._text.program is not None or any(
            t.program is not None or u.program is not None for t, u in self._buttons
        )
        self._has_percent = "%" in text or any("%" in t or "%" in u for t, u in pairs)
        self.budget_failures = 0

    @classmethod
    def from_spec(cls, spec: TemplateSpec) -> MessageTemplate:
        buttons = [{"text": t, "link": u} for t, u in spec.buttons]
        return cls(spec.text, spec.image_source, buttons, spec.message_name)

    def _merge_tags(self, text: str, values: dict[str, Any]) -> str:
        if "%" not in text:
            return text
        lowered: dict[str, Any] | None = None

        def replace(match: re.Match[str]) -> str:
            nonlocal lowered
            name, fallback = match.group(1), match.group(2)
            key = name.upper()
            if key == "MESSAGENAME":
                value: Any = self.message_name
            elif key == "PHONE":
                value = values.get("SMS")
            elif key in values:
                value = values[key]
            else:
                if lowered is None:
                    lowered = {k.lower(): v for k, v in values.items()}
                value = lowered.get(name.lower())
            if value is None:
                return fallback
            shown = java_str(value)
            return shown if shown.strip() else fallback

        return MERGE_TAG_RE.sub(replace, text)

    def render(
        self, contact: ContactData | None, json_param: str | None, limits: Limits = FULL
    ) -> RenderedMessage:
        """Renders in this thread within ``limits``; raises TemplateError (or its
        BudgetExceeded) and nothing else."""
        if self.budget_failures >= MAX_BUDGET_FAILURES:
            raise BudgetExceeded(
                f"the template ran out of its render budget {MAX_BUDGET_FAILURES} times; "
                "not rendered again until the message is changed"
            )
        try:
            return self._render(contact, json_param, limits)
        except BudgetExceeded:
            if limits is FULL:
                self.budget_failures += 1
            raise
        except TemplateError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a render raises fails only it
            raise TemplateError(f"{type(exc).__name__}: {exc}"[:500]) from None

    async def render_async(
        self, contact: ContactData | None, json_param: str | None
    ) -> RenderedMessage:
        """Renders without holding the event loop for more than a few milliseconds.

        Plain text and ordinary templates render here within :data:`FAST`; a render
        that needs more is done again in the sandbox process (CPU, memory and time
        limits) with :data:`FULL`, awaited from a thread."""
        if not self.uses_velocity:
            return self.render(contact, json_param)
        if self.budget_failures >= MAX_BUDGET_FAILURES:
            return self.render(contact, json_param)  # raises at once
        started = time.perf_counter()
        try:
            return self.render(contact, json_param, FAST)
        except BudgetExceeded:
            pass
        finally:
            if time.perf_counter() - started > _YIELD_AFTER_S:
                await asyncio.sleep(0)
        from hushcast.messages.sandbox import default_sandbox

        try:
            return await default_sandbox().render(self.spec, contact, json_param)
        except BudgetExceeded:
            self.budget_failures += 1
            raise

    def _render(
        self, contact: ContactData | None, json_param: str | None, limits: Limits
    ) -> RenderedMessage:
        values = _contact_values(contact) if self.uses_velocity or self._has_percent else {}
        context: dict[str, Any] = {}
        if self.uses_velocity:
            data = parse_json_param(json_param)
            for key, value in values.items():
                data.setdefault(key, value)
            context["data"] = data
        elif json_param is not None:
            parse_json_param(json_param)  # a bad jsonParam fails every message alike

        def render_one(compiled: _Compiled) -> str:
            return self._merge_tags(compiled.merge(context, limits), values)

        text = render_one(self._text)
        if not text.strip():
            raise TemplateError("rendered text is empty")
        if len(text) > self.max_text:
            raise TemplateError("rendered text is too long")
        buttons: list[dict[str, str]] = []
        for i, (b_text, b_link) in enumerate(self._buttons):
            label = render_one(b_text).strip()
            if not label:
                raise TemplateError(f"buttons[{i}].text is empty after rendering")
            url = render_one(b_link).strip()
            if not is_button_url(url):
                raise TemplateError(
                    f"buttons[{i}].link is not an http(s) or tg:// URL after rendering"
                )
            buttons.append({"text": label, "url": url})
        return RenderedMessage(text=text, image_source=self.image_source, buttons=buttons)


def compile_message(row: Any) -> MessageTemplate:
    """A MessageTemplate from a ``messages`` table row."""
    return MessageTemplate(
        row.text,
        row.image_source,
        row.buttons,
        message_name=row.name or "",
    )

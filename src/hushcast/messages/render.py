"""Personalising a Telegram message for one recipient, the Yespo way.

1. Velocity (via airspeed) over ``{"data": <jsonParam object + contact fields>}``:
   ``$!data.get('key')``, ``.get(0)`` on lists, ``#if``, ``#foreach``, arithmetic.
2. Then merge tags ``%NAME|fallback%`` from the contact (and ``%MESSAGENAME|%``).

Templates are compiled once per message (:class:`MessageTemplate`) and rendered per
recipient. Templates are written by API clients, so the compiled tree is checked:
Python internals (``__class__``, ``format`` ...) are not reachable, ``#evaluate``,
``#include`` and ``#parse`` are refused, and output size and loop iterations are capped.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import airspeed

MAX_TEXT = 4096
MAX_TEXT_WITH_IMAGE = 1024
MAX_OUTPUT_CHARS = 64 * 1024  # per rendered template, before the length checks
MAX_LOOP_ITERATIONS = 10_000  # #foreach iterations per render
MAX_RANGE = 10_000  # [a..b] ranges

MERGE_TAG_RE = re.compile(r"%([A-Za-z0-9_.]+)\|([^%\n]*)%")

_BLOCKED_NAMES = frozenset({"format", "format_map", "mro"})
_BLOCKED_PREFIXES = ("_", "gi_", "cr_", "ag_", "tb_", "f_", "func_", "im_")
_REFUSED_DIRECTIVES = {
    airspeed.EvaluateDirective: "#evaluate",
    airspeed.IncludeDirective: "#include",
    airspeed.ParseDirective: "#parse",
}


class TemplateError(Exception):
    """The message cannot be rendered (bad template, bad jsonParam, bad result)."""


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


# --------------------------------------------------------------------------------------
# Java-like wrappers so templates written for Yespo's (Java) Velocity work on airspeed.


class VStr(str):
    """A string with the common java.lang.String methods."""

    def length(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def toUpperCase(self) -> str:
        return VStr(self.upper())

    def toLowerCase(self) -> str:
        return VStr(self.lower())

    def trim(self) -> str:
        return VStr(self.strip())

    def substring(self, begin: int, end: int | None = None) -> str:
        return VStr(self[begin:end] if end is not None else self[begin:])

    def startsWith(self, prefix: str) -> bool:
        return self.startswith(prefix)

    def endsWith(self, suffix: str) -> bool:
        return self.endswith(suffix)

    def contains(self, part: str) -> bool:
        return str(part) in self

    def equals(self, other: object) -> bool:
        return isinstance(other, str) and str(self) == str(other)

    def equalsIgnoreCase(self, other: object) -> bool:
        return isinstance(other, str) and self.lower() == other.lower()

    def indexOf(self, part: str) -> int:
        return self.find(part)

    def replaceAll(self, pattern: str, repl: str) -> str:
        return VStr(re.sub(pattern, repl, self))

    def matches(self, pattern: str) -> bool:
        return re.fullmatch(pattern, self) is not None

    def toString(self) -> str:
        return self


def _java_str(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class VList(list[Any]):
    """A JSON array with java.util.List methods (``get(i)``, ``size()``, ...)."""

    def get(self, index: int) -> Any:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"list index must be an integer, got {index!r}")
        if not 0 <= index < len(self):
            raise IndexError(f"Index {index} out of bounds for length {len(self)}")
        return list.__getitem__(self, index)

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def contains(self, value: Any) -> bool:
        return value in self

    def indexOf(self, value: Any) -> int:
        try:
            return self.index(value)
        except ValueError:
            return -1

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return "[" + ", ".join(_java_str(v) for v in self) + "]"


_VMAP_METHODS = frozenset(
    {"get", "containsKey", "containsValue", "isEmpty", "size", "keySet", "values", "toString"}
)


class VMap(dict[str, Any]):
    """A JSON object with java.util.Map methods.

    airspeed resolves ``$m.name`` by item lookup first; method names win over keys
    of the same name so that ``$data.get('x')`` works even when the JSON has a
    ``"get"`` key (read such keys with ``$data.get('get')``).
    """

    def __getitem__(self, key: Any) -> Any:
        if key in _VMAP_METHODS:
            raise KeyError(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, default)

    def containsKey(self, key: Any) -> bool:
        return dict.__contains__(self, key)

    def containsValue(self, value: Any) -> bool:
        return value in dict.values(self)

    def isEmpty(self) -> bool:
        return not self

    def size(self) -> int:
        return len(self)

    def keySet(self) -> VList:
        return VList(dict.keys(self))

    def values(self) -> VList:  # type: ignore[override]
        return VList(dict.values(self))

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in self.items()) + "}"


def wrap(value: Any) -> Any:
    """JSON values as the wrapper types above (recursively)."""
    if isinstance(value, Mapping):
        return VMap({str(k): wrap(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return VList(wrap(v) for v in value)
    if isinstance(value, str):
        return VStr(value)
    return value


# --------------------------------------------------------------------------------------
# Compiling and checking templates.

_loop_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "hushcast_loop_budget", default=None
)


class _LimitedStream(airspeed.StoppableStream):
    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, s: str) -> int:
        self.size += len(s)
        if self.size > MAX_OUTPUT_CHARS:
            raise TemplateError("rendered text is too long")
        return int(super().write(s) or 0)


def _counting(evaluate: Callable[..., Any]) -> Callable[..., Any]:
    def run(stream: Any, namespace: Any, loader: Any) -> Any:
        budget = _loop_budget.get()
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise TemplateError(f"more than {MAX_LOOP_ITERATIONS} loop iterations")
        return evaluate(stream, namespace, loader)

    return run


def _bounded_range(calculate: Callable[..., Any]) -> Callable[..., Any]:
    def run(namespace: Any, loader: Any) -> Any:
        result = calculate(namespace, loader)
        if len(result) > MAX_RANGE:
            raise TemplateError(f"range larger than {MAX_RANGE}")
        return result

    return run


def _elements(root: Any) -> Iterable[Any]:
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        for value in vars(element).values():
            if isinstance(value, airspeed._Element):
                stack.append(value)
            elif isinstance(value, list | tuple):
                stack.extend(v for v in value if isinstance(v, airspeed._Element))
            elif isinstance(value, dict):
                for pair in value.items():
                    stack.extend(v for v in pair if isinstance(v, airspeed._Element))


def _check_name(name: str) -> None:
    if name in _BLOCKED_NAMES or name.startswith(_BLOCKED_PREFIXES):
        raise TemplateError(f"'{name}' is not allowed")


def _harden(root: Any) -> None:
    """Refuses unsafe constructs and installs the runtime limits on this tree only."""
    for element in _elements(root):
        for kind, label in _REFUSED_DIRECTIVES.items():
            if isinstance(element, kind):
                raise TemplateError(f"{label} is not supported")
        if isinstance(element, airspeed.NameOrCall):
            _check_name(element.name)
        elif isinstance(element, airspeed.SetDirective):
            for term in element.terms:
                _check_name(term)
        elif isinstance(element, airspeed.ForeachDirective):
            element.block.evaluate = _counting(element.block.evaluate)
        elif isinstance(element, airspeed.ArrayLiteral) and isinstance(
            element.values, airspeed.Range
        ):
            # ArrayLiteral binds its Range's calculate at parse time.
            element.calculate = _bounded_range(element.values.calculate)


class _Compiled:
    """One template string: plain text is passed through without Velocity."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.template: airspeed.Template | None = None
        if "$" in source or "#" in source:
            template = airspeed.Template(source)
            try:
                template.ensure_compiled()
            except airspeed.TemplateSyntaxError as exc:
                raise TemplateError(str(exc)) from None
            except (airspeed.TemplateError, RecursionError) as exc:
                raise TemplateError(str(exc) or type(exc).__name__) from None
            _harden(template.root_element)
            self.template = template

    def merge(self, namespace: dict[str, Any]) -> str:
        if self.template is None:
            return self.source
        stream = _LimitedStream()
        try:
            self.template.merge_to(namespace, stream)
        except airspeed.TemplateExecutionError as exc:
            cause = exc.__cause__
            while isinstance(cause, airspeed.TemplateExecutionError):
                cause = cause.__cause__
            if isinstance(cause, TemplateError):
                raise TemplateError(str(cause)) from None
            where = exc.element.my_text().strip()
            reason = f"{type(cause).__name__}: {cause}" if cause else str(exc)
            raise TemplateError(f"error in '{where}': {reason}") from None
        except TemplateError:
            raise
        except (airspeed.TemplateError, RecursionError) as exc:
            raise TemplateError(str(exc) or type(exc).__name__) from None
        return stream.getvalue()


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


def _contact_values(contact: ContactData | None) -> dict[str, Any]:
    """Merge-tag names (upper case) -> value; custom fields keep their own names."""
    if contact is None:
        return {}
    values: dict[str, Any] = {}
    for name, value in (contact.fields or {}).items():
        values[str(name)] = value
    standard = {
        "FIRSTNAME": contact.first_name,
        "LASTNAME": contact.last_name,
        "EMAIL": contact.email,
        "SMS": contact.phone,
        "EXTERNAL_CUSTOMER_ID": contact.external_customer_id,
        "CONTACT_ID": contact.contact_id,
    }
    values.update(standard)
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


class MessageTemplate:
    """Compiled once per message (cache the airspeed Template), rendered per recipient."""

    def __init__(
        self,
        text: str,
        image_source: str | None,
        buttons: list[dict[str, Any]] | None,
        message_name: str = "",
    ) -> None:
        self.image_source = image_source or None
        self.message_name = message_name or ""
        self.max_text = MAX_TEXT_WITH_IMAGE if self.image_source else MAX_TEXT
        self._text = _Compiled(text)
        self._buttons: list[tuple[_Compiled, _Compiled]] = []
        for button in buttons or []:
            self._buttons.append(
                (
                    _Compiled(str(button.get("text") or "")),
                    _Compiled(str(button.get("link") or button.get("url") or "")),
                )
            )
        # Plain text (the common case) needs no Velocity namespace per recipient.
        self._velocity = self._text.template is not None or any(
            t.template is not None or u.template is not None for t, u in self._buttons
        )

    def _merge_tags(self, text: str, values: dict[str, Any]) -> str:
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
            shown = _java_str(value)
            return shown if shown.strip() else fallback

        return MERGE_TAG_RE.sub(replace, text)

    def _render_one(
        self, compiled: _Compiled, namespace: dict[str, Any], values: dict[str, Any]
    ) -> str:
        return self._merge_tags(compiled.merge(namespace), values)

    def render(self, contact: ContactData | None, json_param: str | None) -> RenderedMessage:
        data = parse_json_param(json_param)
        values = _contact_values(contact)
        namespace: dict[str, Any] = {}
        if self._velocity:
            for key, value in values.items():
                data.setdefault(key, value)
            namespace["data"] = wrap(data)
        token = _loop_budget.set([MAX_LOOP_ITERATIONS])
        try:
            text = self._render_one(self._text, namespace, values)
            if not text.strip():
                raise TemplateError("rendered text is empty")
            if len(text) > self.max_text:
                raise TemplateError("rendered text is too long")
            buttons: list[dict[str, str]] = []
            for i, (b_text, b_link) in enumerate(self._buttons):
                label = self._render_one(b_text, namespace, values).strip()
                if not label:
                    raise TemplateError(f"buttons[{i}].text is empty after rendering")
                url = self._render_one(b_link, namespace, values).strip()
                if not is_button_url(url):
                    raise TemplateError(
                        f"buttons[{i}].link is not an http(s) or tg:// URL after rendering"
                    )
                buttons.append({"text": label, "url": url})
        finally:
            _loop_budget.reset(token)
        return RenderedMessage(text=text, image_source=self.image_source, buttons=buttons)


def compile_message(row: Any) -> MessageTemplate:
    """A MessageTemplate from a ``messages`` table row."""
    return MessageTemplate(
        row.text,
        row.image_source,
        row.buttons,
        message_name=row.name or "",
    )

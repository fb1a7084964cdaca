"""The values a template can hold, the methods it can call on them, and its budget.

Templates come from API callers, so everything a template can touch is listed here:

* values are JSON-shaped only: ``None``, ``bool``, ``int``, ``float``, ``str``,
  ``list`` and ``dict`` (checked by exact type on every access, so an object of any
  other type answers as an undefined reference);
* a method call is a look-up in :data:`METHODS` by (kind of value, name) and runs a
  function of this module; the evaluator never calls ``getattr`` on a value, so no
  Python attribute, dunder or callable is reachable from a template;
* every value a template creates is charged to a :class:`Budget` (steps, characters
  and items created, wall time), and strings, lists and maps have size caps, so a
  render is bounded in time and memory whatever the template does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import regex

MAX_VALUE_CHARS = 65_536  # one string a template builds
MAX_ITEMS = 10_000  # one list or map a template builds (and a [a..b] range)
MAX_INT = 2**63 - 1  # Java's long: larger results are an error, not a bignum
MAX_DEPTH = 64  # nesting of values turned into text
REGEX_TIMEOUT_S = 0.05  # one regular expression match (user patterns on user data)


class TemplateError(Exception):
    """The message cannot be rendered (bad template, bad jsonParam, bad result)."""


class BudgetExceeded(TemplateError):
    """A render went over a bound that depends on its :class:`Limits` (steps, characters
    built, time): the same render may fit in a larger budget. Fixed caps (sizes, loop
    iterations, nesting) raise a plain TemplateError."""


@dataclass(frozen=True)
class Limits:
    """The bounds of one render."""

    steps: int  # evaluated nodes, loop iterations and method calls
    alloc: int  # characters and items the template creates
    seconds: float  # wall time
    loop_iterations: int = 10_000
    macro_depth: int = 20  # Velocity's default velocimacro.max.depth
    output_chars: int = 65_536


# The in-process first try: a plain or ordinary template fits easily; one that does
# not is retried in the sandbox process (see hushcast.messages.sandbox) with FULL.
FAST = Limits(steps=20_000, alloc=512_000, seconds=0.005)
FULL = Limits(steps=500_000, alloc=4_000_000, seconds=0.5)


class Budget:
    """What is left of a render's :class:`Limits`; every charge may raise."""

    __slots__ = ("limits", "steps", "alloc", "loops", "deadline", "_tick")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = limits.steps
        self.alloc = limits.alloc
        self.loops = limits.loop_iterations
        self.deadline = time.monotonic() + limits.seconds
        self._tick = 0

    def step(self, n: int = 1) -> None:
        self.steps -= n
        if self.steps < 0:
            raise BudgetExceeded(f"the template took more than {self.limits.steps} steps")
        self._tick += n
        if self._tick >= 256:
            self._tick = 0
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(
                f"the template took longer than {self.limits.seconds * 1000:g} ms to render"
            )

    def charge(self, units: int) -> None:
        """Characters or items created."""
        self.alloc -= units
        if self.alloc < 0:
            raise BudgetExceeded(
                f"the template built more than {self.limits.alloc} characters and items"
            )

    def loop(self) -> None:
        self.loops -= 1
        if self.loops < 0:
            raise TemplateError(f"more than {self.limits.loop_iterations} loop iterations")
        self.step()

    def regex_timeout(self) -> float:
        return max(0.001, min(REGEX_TIMEOUT_S, self.deadline - time.monotonic()))


# --------------------------------------------------------------------------------------
# Kinds of values. Exact type checks: a str subclass or any foreign object is "other".

NULL, BOOL, INT, FLOAT, STR, LIST, MAP, OTHER = range(8)
_KINDS: dict[type, int] = {
    type(None): NULL,
    bool: BOOL,
    int: INT,
    float: FLOAT,
    str: STR,
    list: LIST,
    dict: MAP,
}


def kind(value: Any) -> int:
    return _KINDS.get(type(value), OTHER)


def is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def new_str(value: str, budget: Budget) -> str:
    if len(value) > MAX_VALUE_CHARS:
        raise TemplateError(f"a string longer than {MAX_VALUE_CHARS} characters")
    budget.charge(len(value))
    return value


def new_int(value: int) -> int:
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise TemplateError("integer overflow")
    return value


def check_items(count: int, budget: Budget) -> None:
    if count > MAX_ITEMS:
        raise TemplateError(f"a list or map larger than {MAX_ITEMS} items")
    budget.charge(count)


def _add_text(parts: list[str], size: int, text: str) -> int:
    size += len(text)
    if size > MAX_VALUE_CHARS:
        raise TemplateError(f"a value longer than {MAX_VALUE_CHARS} characters as text")
    parts.append(text)
    return size


def _java_parts(v: Any, depth: int, parts: list[str], size: int) -> int:
    """Appends the text of ``v`` to ``parts``; the text's length so far.

    Module-level and recursive through its arguments: a nested closure that calls
    itself is a reference cycle (function, cell, function) that only the garbage
    collector frees, and ``java_str`` runs for every merge tag of every recipient (the
    worker left 24,000 such objects a second to its collector; core/collector.py)."""
    if depth > MAX_DEPTH:
        raise TemplateError(f"a value nested deeper than {MAX_DEPTH} levels")
    k = kind(v)
    if k == NULL:
        return _add_text(parts, size, "null")
    if k == BOOL:
        return _add_text(parts, size, "true" if v else "false")
    if k in (INT, FLOAT, STR):
        return _add_text(parts, size, str(v))
    if k == LIST:
        size = _add_text(parts, size, "[")
        for i, item in enumerate(v):
            if i:
                size = _add_text(parts, size, ", ")
            size = _java_parts(item, depth + 1, parts, size)
        return _add_text(parts, size, "]")
    if k == MAP:
        size = _add_text(parts, size, "{")
        for i, (key, item) in enumerate(v.items()):
            if i:
                size = _add_text(parts, size, ", ")
            size = _java_parts(key, depth + 1, parts, size)
            size = _add_text(parts, size, "=")
            size = _java_parts(item, depth + 1, parts, size)
        return _add_text(parts, size, "}")
    return _add_text(parts, size, "null")


def java_str(value: Any, budget: Budget | None = None) -> str:
    """Java's ``String.valueOf`` of a value (``true``, ``null``, ``[a, b]``, ``{k=v}``)."""
    parts: list[str] = []
    _java_parts(value, 0, parts, 0)
    text = "".join(parts)
    if budget is not None:
        budget.charge(len(text))
    return text


def output_str(value: Any, budget: Budget) -> str:
    """How a reference's value is written into the output.

    Top-level booleans keep the form earlier versions rendered (``True``/``False``);
    inside lists and maps values are Java's (``true``)."""
    if type(value) is bool:
        return "True" if value else "False"
    if type(value) is str:
        return value
    return java_str(value, budget)


def truthy(value: Any) -> bool:
    """Velocity 2's #if: null, false, 0, empty strings, lists and maps are false."""
    k = kind(value)
    if k == OTHER:
        return False
    return bool(value)


# --------------------------------------------------------------------------------------
# Methods. Each takes (budget, self, *args); arity is checked before the call.

Method = Callable[..., Any]


def _need_str(value: Any, what: str) -> str:
    if type(value) is not str:
        raise TemplateError(f"{what} must be a string")
    return value


def _need_int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise TemplateError(f"{what} must be an integer")
    return value


def _substring(b: Budget, s: str, begin: Any, end: Any = None) -> str:
    start = _need_int(begin, "substring's begin index")
    stop = len(s) if end is None else _need_int(end, "substring's end index")
    if not 0 <= start <= stop <= len(s):
        raise TemplateError(f"substring({start}, {stop}) out of range for length {len(s)}")
    return new_str(s[start:stop], b)


def _char_at(b: Budget, s: str, index: Any) -> str:
    i = _need_int(index, "charAt's index")
    if not 0 <= i < len(s):
        raise TemplateError(f"Index {i} out of bounds for length {len(s)}")
    return s[i]


def _replace(b: Budget, s: str, old: Any, new: Any) -> str:
    old_s, new_s = java_str(old), java_str(new)
    count = s.count(old_s) if old_s else len(s) + 1
    if len(s) + count * (len(new_s) - len(old_s)) > MAX_VALUE_CHARS:
        raise TemplateError(f"a string longer than {MAX_VALUE_CHARS} characters")
    return new_str(s.replace(old_s, new_s), b)


def _compile(pattern: Any) -> Any:
    try:
        return regex.compile(_need_str(pattern, "a regular expression"))
    except regex.error as exc:
        raise TemplateError(f"bad regular expression: {exc}") from None


def _regex_run(b: Budget, run: Callable[[float], Any]) -> Any:
    try:
        return run(b.regex_timeout())
    except TimeoutError:
        raise BudgetExceeded("a regular expression took too long") from None


def _java_replacement(template: str) -> Callable[[Any], str]:
    """Java's replacement syntax: ``$1`` is group 1, ``\\$`` a dollar sign."""
    pieces: list[str | int] = []
    i = 0
    text: list[str] = []
    while i < len(template):
        c = template[i]
        if c == "\\" and i + 1 < len(template):
            text.append(template[i + 1])
            i += 2
        elif (
            c == "$"
            and i + 1 < len(template)
            and template[i + 1].isascii()
            and (template[i + 1].isdigit())
        ):
            if text:
                pieces.append("".join(text))
                text = []
            pieces.append(int(template[i + 1]))
            i += 2
        else:
            text.append(c)
            i += 1
    if text:
        pieces.append("".join(text))

    def expand(match: Any) -> str:
        out = []
        for p in pieces:
            if isinstance(p, int):
                if p > len(match.groups()):
                    raise TemplateError(f"no group {p} in the regular expression")
                out.append(match.group(p) or "")
            else:
                out.append(p)
        return "".join(out)

    return expand


def _replace_regex(b: Budget, s: str, pattern: Any, repl: Any, count: int) -> str:
    compiled = _compile(pattern)
    expand = _java_replacement(_need_str(repl, "the replacement"))
    size = 0

    def bounded(match: Any) -> str:
        nonlocal size
        piece = expand(match)
        size += len(piece)
        if size > MAX_VALUE_CHARS:
            raise TemplateError(f"a string longer than {MAX_VALUE_CHARS} characters")
        return piece

    result = _regex_run(b, lambda t: compiled.sub(bounded, s, count=count, timeout=t))
    return new_str(result, b)


def _matches(b: Budget, s: str, pattern: Any) -> bool:
    compiled = _compile(pattern)
    return _regex_run(b, lambda t: compiled.fullmatch(s, timeout=t)) is not None


def _split(b: Budget, s: str, pattern: Any) -> list[Any]:
    compiled = _compile(pattern)
    parts = _regex_run(b, lambda t: compiled.split(s, timeout=t))
    while parts and parts[-1] == "":  # Java drops trailing empty strings
        parts.pop()
    check_items(len(parts), b)
    return [str(p) for p in parts]


def _index_of(_: Budget, s: str, part: Any, start: Any = 0) -> int:
    return s.find(java_str(part), _need_int(start, "indexOf's start"))


def _list_get(_: Budget, items: list[Any], index: Any) -> Any:
    if type(index) is not int:
        raise TemplateError(f"list index must be an integer, got {java_str(index)!r}"[:200])
    if not 0 <= index < len(items):
        raise TemplateError(f"Index {index} out of bounds for length {len(items)}")
    return items[index]


def _list_index_of(_: Budget, items: list[Any], value: Any) -> int:
    for i, item in enumerate(items):
        if equals(item, value):
            return i
    return -1


def _list_add(b: Budget, items: list[Any], value: Any) -> bool:
    check_items(len(items) + 1, b)
    items.append(value)
    return True


def _sub_list(b: Budget, items: list[Any], begin: Any, end: Any) -> list[Any]:
    start, stop = _need_int(begin, "subList's from"), _need_int(end, "subList's to")
    if not 0 <= start <= stop <= len(items):
        raise TemplateError(f"subList({start}, {stop}) out of range for size {len(items)}")
    check_items(stop - start, b)
    return items[start:stop]


def _map_get(_: Budget, mapping: dict[Any, Any], key: Any) -> Any:
    if kind(key) not in (STR, INT, FLOAT, BOOL, NULL):
        return None
    return mapping.get(key)


def _map_put(b: Budget, mapping: dict[Any, Any], key: Any, value: Any) -> Any:
    if kind(key) not in (STR, INT, FLOAT, BOOL):
        raise TemplateError("a map key must be a string, number or boolean")
    if key not in mapping:
        check_items(len(mapping) + 1, b)
    previous = mapping.get(key)
    mapping[key] = value
    return previous


def _keys(b: Budget, mapping: dict[Any, Any]) -> list[Any]:
    check_items(len(mapping), b)
    return list(mapping.keys())


def _values(b: Budget, mapping: dict[Any, Any]) -> list[Any]:
    check_items(len(mapping), b)
    return list(mapping.values())


def _contains_value(_: Budget, mapping: dict[Any, Any], value: Any) -> bool:
    return any(equals(v, value) for v in mapping.values())


def _to_string(b: Budget, value: Any) -> str:
    return java_str(value, b)


def _equals(_: Budget, value: Any, other: Any) -> bool:
    return kind(value) == kind(other) and equals(value, other)


def _int_value(_: Budget, value: Any) -> int:
    return new_int(int(value))


def _float_value(_: Budget, value: Any) -> float:
    return float(value)


_COMMON: dict[str, tuple[int, int, Method]] = {
    "toString": (0, 0, _to_string),
    "equals": (1, 1, _equals),
}
_NUMBER: dict[str, tuple[int, int, Method]] = {
    **_COMMON,
    "intValue": (0, 0, _int_value),
    "longValue": (0, 0, _int_value),
    "doubleValue": (0, 0, _float_value),
}

# (kind, name) -> (fewest arguments, most arguments, implementation)
METHODS: dict[int, dict[str, tuple[int, int, Method]]] = {
    STR: {
        **_COMMON,
        "length": (0, 0, lambda b, s: len(s)),
        "isEmpty": (0, 0, lambda b, s: not s),
        "toUpperCase": (0, 0, lambda b, s: new_str(s.upper(), b)),
        "toLowerCase": (0, 0, lambda b, s: new_str(s.lower(), b)),
        "trim": (0, 0, lambda b, s: new_str(s.strip(), b)),
        "substring": (1, 2, _substring),
        "charAt": (1, 1, _char_at),
        "concat": (1, 1, lambda b, s, o: new_str(s + _need_str(o, "concat's argument"), b)),
        "startsWith": (1, 1, lambda b, s, p: s.startswith(java_str(p))),
        "endsWith": (1, 1, lambda b, s, p: s.endswith(java_str(p))),
        "contains": (1, 1, lambda b, s, p: java_str(p) in s),
        "equalsIgnoreCase": (
            1,
            1,
            lambda b, s, o: type(o) is str and s.lower() == o.lower(),
        ),
        "indexOf": (1, 2, _index_of),
        "lastIndexOf": (1, 1, lambda b, s, p: s.rfind(java_str(p))),
        "replace": (2, 2, _replace),
        "replaceAll": (2, 2, lambda b, s, p, r: _replace_regex(b, s, p, r, 0)),
        "replaceFirst": (2, 2, lambda b, s, p, r: _replace_regex(b, s, p, r, 1)),
        "matches": (1, 1, _matches),
        "split": (1, 1, _split),
    },
    LIST: {
        **_COMMON,
        "get": (1, 1, _list_get),
        "size": (0, 0, lambda b, items: len(items)),
        "isEmpty": (0, 0, lambda b, items: not items),
        "contains": (1, 1, lambda b, items, v: _list_index_of(b, items, v) >= 0),
        "indexOf": (1, 1, _list_index_of),
        "subList": (2, 2, _sub_list),
        "add": (1, 1, _list_add),
    },
    MAP: {
        **_COMMON,
        "get": (1, 1, _map_get),
        "containsKey": (
            1,
            1,
            lambda b, m, k: kind(k) in (STR, INT, FLOAT, BOOL, NULL) and k in m,
        ),
        "containsValue": (1, 1, _contains_value),
        "isEmpty": (0, 0, lambda b, m: not m),
        "size": (0, 0, lambda b, m: len(m)),
        "keySet": (0, 0, _keys),
        "values": (0, 0, _values),
        "put": (2, 2, _map_put),
    },
    INT: _NUMBER,
    FLOAT: _NUMBER,
    BOOL: {**_COMMON, "booleanValue": (0, 0, lambda b, v: v)},
}

METHOD_NAMES: frozenset[str] = frozenset(name for table in METHODS.values() for name in table)

# Names that only ever mean reflection in Java or Python; refused when a template is
# saved. At render time they are simply not in METHODS and answer as undefined.
FORBIDDEN_NAMES: frozenset[str] = frozenset(
    {
        "class",
        "getClass",
        "forName",
        "getClassLoader",
        "newInstance",
        "getMethod",
        "getMethods",
        "getDeclaredMethod",
        "getDeclaredField",
        "getField",
        "invoke",
        "getRuntime",
        "exec",
        "mro",
        "format",
        "format_map",
    }
)


def call_method(budget: Budget, target: Any, name: str, args: list[Any]) -> Any:
    """``target.name(args)`` when listed in :data:`METHODS`; ``None`` (undefined) otherwise."""
    table = METHODS.get(kind(target))
    if table is None:
        return None
    entry = table.get(name)
    if entry is None:
        return None
    fewest, most, method = entry
    if not fewest <= len(args) <= most:
        return None  # Velocity: no such method signature -> undefined
    budget.step(1 + (len(target) >> 10 if type(target) in (str, list, dict) else 0))
    return method(budget, target, *args)


def get_property(budget: Budget, target: Any, name: str) -> Any:
    """``$target.name``: a map key, or Velocity's ``isName()`` getter (``$s.empty``)."""
    k = kind(target)
    if k == MAP:
        return target.get(name)
    if k in (OTHER, NULL) or not name:
        return None
    getter = "is" + name[0].upper() + name[1:]
    if getter in METHODS.get(k, {}):
        return call_method(budget, target, getter, [])
    return None


def equals(a: Any, b: Any) -> bool:
    """Velocity's ``==``: numbers by value, same kinds by value, otherwise by text."""
    ka, kb = kind(a), kind(b)
    if ka == OTHER or kb == OTHER:
        return False
    if ka in (INT, FLOAT) and kb in (INT, FLOAT):
        return bool(a == b)
    if ka == kb:
        return bool(a == b)
    if ka == NULL or kb == NULL:
        return False
    if ka in (LIST, MAP) or kb in (LIST, MAP):
        return False
    return java_str(a) == java_str(b)

"""The node set a Velocity template is compiled to (``velocity_compile.py``) and
evaluated over (``velocity.py``). Expressions are evaluated to values; statements write
to the output. Frozen: a compiled template is shared by every render of its version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Interpolated:  # "text with $refs"
    body: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RangeLiteral:
    start: Any
    stop: Any


@dataclass(frozen=True, slots=True)
class MapLiteral:
    pairs: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True, slots=True)
class Prop:  # .name
    name: str


@dataclass(frozen=True, slots=True)
class Call:  # .name(args)
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Index:  # [expr]
    key: Any


@dataclass(frozen=True, slots=True)
class Reference:  # $name.a.b(c)[d], $!name, ${name|alternate}
    head: str
    path: tuple[Prop | Call | Index, ...]
    silent: bool
    alternate: Any
    source: str


@dataclass(frozen=True, slots=True)
class Unary:  # !x
    operand: Any


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Output:  # a reference written into the text
    ref: Reference


@dataclass(frozen=True, slots=True)
class If:
    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Set:
    target: tuple[str, ...]
    value: Any


@dataclass(frozen=True, slots=True)
class Foreach:
    var: str
    iterable: Any
    body: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class MacroCall:
    name: str
    args: tuple[Any, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Macro:
    params: tuple[str, ...]
    body: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Program:
    body: tuple[Any, ...]
    macros: dict[str, Macro]

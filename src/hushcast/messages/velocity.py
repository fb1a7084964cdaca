"""Velocity templates: airspeed parses them, this module evaluates them.

airspeed's own evaluator resolves names with ``getattr`` and item look-ups on live
Python objects, which reaches ``__class__`` and from there the whole interpreter.
So airspeed is used only as a parser: :func:`compile_velocity` (``velocity_compile.py``)
translates its parse tree into a small node set (``velocity_nodes.py``), refusing what
templates may not do with a clear reason, and :class:`Interpreter` (here) evaluates
those nodes over JSON-shaped values. The
evaluator resolves a name only in the template's own scopes, a property only as a
map key, and a method only through :data:`template_values.METHODS`; every step is
charged to a :class:`Budget`. Those rules hold at run time whatever the parse tree
holds, so a construct the translator did not foresee still cannot reach Python.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hushcast.messages import template_values as tv
from hushcast.messages.template_values import Budget, BudgetExceeded, TemplateError
from hushcast.messages.velocity_compile import compile_velocity
from hushcast.messages.velocity_nodes import (
    Binary,
    Call,
    Foreach,
    If,
    Interpolated,
    ListLiteral,
    Literal,
    MacroCall,
    MapLiteral,
    Output,
    Program,
    Prop,
    RangeLiteral,
    Reference,
    Set,
    Stop,
    Text,
    Unary,
)

__all__ = ["Interpreter", "compile_velocity", "evaluate"]


class _Stopped(Exception):
    """#stop: the render ends here with what was written."""


class _Out:
    __slots__ = ("parts", "size", "limit", "budget")

    def __init__(self, limit: int, budget: Budget) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.budget = budget

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.limit:
            raise TemplateError("rendered text is too long")
        self.budget.charge(len(text))
        self.parts.append(text)

    def value(self) -> str:
        return "".join(self.parts)


class Interpreter:
    """Evaluates one :class:`Program` for one recipient within a :class:`Budget`."""

    def __init__(self, program: Program, budget: Budget) -> None:
        self.program = program
        self.budget = budget
        self.limits = budget.limits
        self.macro_depth = 0

    def render(self, context: dict[str, Any]) -> str:
        out = _Out(self.limits.output_chars, self.budget)
        scopes: list[dict[str, Any]] = [dict(context)]
        with contextlib.suppress(_Stopped):
            self.run(self.program.body, scopes, out)
        return out.value()

    # -- statements

    def run(self, body: tuple[Any, ...], scopes: list[dict[str, Any]], out: _Out) -> None:
        step = self.budget.step
        for node in body:
            step()
            t = type(node)
            if t is Text:
                out.write(node.text)
            elif t is Output:
                self.output(node.ref, scopes, out)
            elif t is If:
                for condition, block in node.branches:
                    if tv.truthy(self.eval(condition, scopes)):
                        self.run(block, scopes, out)
                        break
                else:
                    self.run(node.otherwise, scopes, out)
            elif t is Set:
                self.assign(node, scopes)
            elif t is Foreach:
                self.foreach(node, scopes, out)
            elif t is MacroCall:
                self.call_macro(node, scopes, out)
            elif t is Stop:
                raise _Stopped
            else:  # pragma: no cover - the translator makes only the nodes above
                raise TemplateError("unknown node")

    def output(self, ref: Reference, scopes: list[dict[str, Any]], out: _Out) -> None:
        value = self.reference(ref, scopes)
        if value is None:
            out.write("" if ref.silent else ref.source)
        else:
            out.write(tv.output_str(value, self.budget))

    def assign(self, node: Set, scopes: list[dict[str, Any]]) -> None:
        value = self.eval(node.value, scopes)
        name = node.target[0]
        if len(node.target) == 1:
            for scope in reversed(scopes):
                if name in scope:
                    scope[name] = value
                    return
            scopes[0][name] = value
            return
        target = self.lookup(name, scopes)
        for term in node.target[1:-1]:
            target = tv.get_property(self.budget, target, term)
        if tv.kind(target) != tv.MAP:
            raise TemplateError(f"#set: ${'.'.join(node.target[:-1])} is not a map")
        tv.call_method(self.budget, target, "put", [node.target[-1], value])

    def foreach(self, node: Foreach, scopes: list[dict[str, Any]], out: _Out) -> None:
        iterable = self.eval(node.iterable, scopes)
        k = tv.kind(iterable)
        if k == tv.LIST:
            items = list(iterable)
        elif k == tv.MAP:
            items = list(iterable.values())  # Velocity iterates a map's values
        else:
            return
        length = len(items)
        frame: dict[str, Any] = {}
        scopes.append(frame)
        try:
            for count, item in enumerate(items, start=1):
                self.budget.loop()
                frame.clear()
                frame[node.var] = item
                frame["velocityCount"] = count
                frame["velocityHasNext"] = count < length
                frame["foreach"] = {
                    "count": count,
                    "index": count - 1,
                    "hasNext": count < length,
                    "first": count == 1,
                    "last": count == length,
                }
                self.run(node.body, scopes, out)
        finally:
            scopes.pop()

    def call_macro(self, node: MacroCall, scopes: list[dict[str, Any]], out: _Out) -> None:
        macro = self.program.macros.get(node.name)
        if macro is None:  # Velocity writes an unknown macro call as text
            out.write(node.source)
            return
        if len(node.args) != len(macro.params):
            raise TemplateError(
                f"macro '{node.name}' takes {len(macro.params)} arguments, got {len(node.args)}"
            )
        if self.macro_depth >= self.limits.macro_depth:
            raise TemplateError(f"macros nested deeper than {self.limits.macro_depth}")
        args = [self.eval(a, scopes) for a in node.args]
        self.macro_depth += 1
        scopes.append(dict(zip(macro.params, args, strict=True)))
        try:
            self.run(macro.body, scopes, out)
        finally:
            scopes.pop()
            self.macro_depth -= 1

    # -- expressions

    def lookup(self, name: str, scopes: list[dict[str, Any]]) -> Any:
        for scope in reversed(scopes):
            if name in scope:
                return scope[name]
        return None

    def reference(self, ref: Reference, scopes: list[dict[str, Any]]) -> Any:
        value = self.lookup(ref.head, scopes) if ref.head else None
        budget = self.budget
        for part in ref.path:
            if value is None:
                break
            budget.step()
            t = type(part)
            if t is Prop:
                value = tv.get_property(budget, value, part.name)  # type: ignore[union-attr]
            elif t is Call:
                args = [self.eval(a, scopes) for a in part.args]  # type: ignore[union-attr]
                value = tv.call_method(budget, value, part.name, args)  # type: ignore[union-attr]
            else:
                key = self.eval(part.key, scopes)  # type: ignore[union-attr]
                value = self._index(value, key)
        if tv.kind(value) == tv.OTHER:
            value = None
        if value is None and ref.alternate is not None:
            value = self.eval(ref.alternate, scopes)
        return value

    def _index(self, target: Any, key: Any) -> Any:
        k = tv.kind(target)
        if k == tv.LIST:
            if type(key) is not int:
                raise TemplateError("list index must be an integer")
            return target[key] if -len(target) <= key < len(target) else None
        if k == tv.MAP:
            return tv.call_method(self.budget, target, "get", [key])
        return None

    def eval(self, node: Any, scopes: list[dict[str, Any]]) -> Any:
        self.budget.step()
        t = type(node)
        if t is Reference:
            return self.reference(node, scopes)
        if t is Literal:
            return node.value
        if t is Binary:
            return self.binary(node, scopes)
        if t is Unary:
            return not tv.truthy(self.eval(node.operand, scopes))
        if t is Interpolated:
            inner = _Out(tv.MAX_VALUE_CHARS, self.budget)
            self.run(node.body, scopes, inner)
            return inner.value()
        if t is ListLiteral:
            tv.check_items(len(node.items), self.budget)
            return [self.eval(item, scopes) for item in node.items]
        if t is MapLiteral:
            tv.check_items(len(node.pairs), self.budget)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.pairs:
                key = self.eval(key_node, scopes)
                if tv.kind(key) not in (tv.STR, tv.INT, tv.FLOAT, tv.BOOL):
                    raise TemplateError("a map key must be a string, number or boolean")
                result[key] = self.eval(value_node, scopes)
            return result
        if t is RangeLiteral:
            start, stop = self.eval(node.start, scopes), self.eval(node.stop, scopes)
            if type(start) is not int or type(stop) is not int:
                raise TemplateError("a range needs integer bounds")
            tv.check_items(abs(stop - start) + 1, self.budget)
            step = 1 if stop >= start else -1
            return list(range(start, stop + step, step))
        raise TemplateError("unknown expression")  # pragma: no cover

    def binary(self, node: Binary, scopes: list[dict[str, Any]]) -> Any:
        op = node.op
        if op == "&&":
            return tv.truthy(self.eval(node.left, scopes)) and tv.truthy(
                self.eval(node.right, scopes)
            )
        if op == "||":
            return tv.truthy(self.eval(node.left, scopes)) or tv.truthy(
                self.eval(node.right, scopes)
            )
        a, b = self.eval(node.left, scopes), self.eval(node.right, scopes)
        if op == "==":
            return tv.equals(a, b)
        if op == "!=":
            return not tv.equals(a, b)
        if op in ("<", ">", "<=", ">="):
            return _compare(op, a, b)
        return self.arithmetic(op, a, b)

    def arithmetic(self, op: str, a: Any, b: Any) -> Any:
        if op == "+" and (type(a) is str or type(b) is str):
            if a is None or b is None:
                raise TemplateError("'+' with an undefined value")
            return tv.new_str(
                tv.output_str(a, self.budget) + tv.output_str(b, self.budget), self.budget
            )
        if not (tv.is_number(a) and tv.is_number(b)):
            raise TemplateError(f"'{op}' needs numbers, got {_kind_name(a)} and {_kind_name(b)}")
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif b == 0:
            raise TemplateError("division by zero")
        elif type(a) is int and type(b) is int:
            # Java's integer division and remainder truncate toward zero.
            quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
            result = quotient if op == "/" else a - b * quotient
        else:
            import math

            result = a / b if op == "/" else math.fmod(a, b)
        return tv.new_int(result) if type(result) is int else result


def _compare(op: str, a: Any, b: Any) -> bool:
    if tv.is_number(a) and tv.is_number(b) or type(a) is str and type(b) is str:
        if op == "<":
            return bool(a < b)
        if op == ">":
            return bool(a > b)
        if op == "<=":
            return bool(a <= b)
        return bool(a >= b)
    return False  # Velocity logs such a comparison and answers false


def _kind_name(value: Any) -> str:
    return {
        tv.NULL: "null",
        tv.BOOL: "a boolean",
        tv.INT: "a number",
        tv.FLOAT: "a number",
        tv.STR: "a string",
        tv.LIST: "a list",
        tv.MAP: "a map",
    }.get(tv.kind(value), "an object")


def evaluate(program: Program, context: dict[str, Any], limits: tv.Limits) -> str:
    """Renders ``program`` over ``context`` within ``limits``; any failure is a TemplateError."""
    budget = Budget(limits)
    try:
        return Interpreter(program, budget).render(context)
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateError("the template or its data is nested too deeply") from None
    except MemoryError:
        raise BudgetExceeded("the template needed too much memory") from None
    except Exception as exc:  # noqa: BLE001 - whatever a render raises fails only it
        raise TemplateError(f"{type(exc).__name__}: {exc}"[:500]) from None

"""Velocity templates, compiled: airspeed's parse tree translated into the node set of
``velocity_nodes.py``, refusing what templates may not do (``#evaluate``, ``#include``,
``#parse``, ``#define``, user-defined directives, names starting with ``_`` or in
``template_values.FORBIDDEN_NAMES``) with a clear reason, when a template is saved. The
evaluator (``velocity.py``) holds its own rules at run time whatever these nodes hold."""

from __future__ import annotations

from typing import Any

import airspeed

from hushcast.messages import template_values as tv
from hushcast.messages.template_values import TemplateError
from hushcast.messages.velocity_nodes import (
    Binary,
    Call,
    Foreach,
    If,
    Index,
    Interpolated,
    ListLiteral,
    Literal,
    Macro,
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

_REFUSED = {
    airspeed.EvaluateDirective: "#evaluate",
    airspeed.IncludeDirective: "#include",
    airspeed.ParseDirective: "#parse",
    airspeed.DefineDefinition: "#define",
    airspeed.UserDefinedDirective: "user-defined directives",
}

# airspeed's (operator text -> precedence); lower binds tighter. Same table as Velocity.
_PRECEDENCE = {
    "*": 4,
    "/": 4,
    "%": 4,
    "+": 5,
    "-": 5,
    ">": 7,
    "<": 7,
    ">=": 7,
    "<=": 7,
    "gt": 7,
    "lt": 7,
    "ge": 7,
    "le": 7,
    "==": 8,
    "eq": 8,
    "!=": 8,
    "ne": 8,
    "&&": 12,
    "and": 12,
    "||": 13,
    "or": 13,
}
_ALIASES = {
    "gt": ">",
    "lt": "<",
    "ge": ">=",
    "le": "<=",
    "eq": "==",
    "ne": "!=",
    "and": "&&",
    "or": "||",
}


def _check_name(name: str) -> None:
    if name.startswith("_") or name in tv.FORBIDDEN_NAMES:
        raise TemplateError(f"'{name}' is not allowed in templates")


class _Translator:
    def __init__(self) -> None:
        self.macros: dict[str, Macro] = {}

    def block(self, block: Any) -> tuple[Any, ...]:
        out: list[Any] = []
        for child in block.children:
            node = self.statement(child)
            if node is None:
                continue
            if isinstance(node, Text) and out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + node.text)
            else:
                out.append(node)
        return tuple(out)

    def statement(self, el: Any) -> Any:
        for refused, label in _REFUSED.items():
            if isinstance(el, refused):
                raise TemplateError(f"{label} is not supported")
        if isinstance(el, airspeed.Text | airspeed.FallthroughHashText):
            return Text(el.text)
        if isinstance(el, airspeed.Comment):
            return None
        if isinstance(el, airspeed.FormalReference):
            return Output(self.reference(el))
        if isinstance(el, airspeed.IfDirective):
            branches = [(self.condition(el.condition), self.block(el.block))]
            for elseif in el.elseifs:
                branches.append((self.condition(elseif.condition), self.block(elseif.block)))
            otherwise: tuple[Any, ...] = ()
            if isinstance(el.else_block, airspeed.ElseBlock):
                otherwise = self.block(el.else_block.block)
            return If(tuple(branches), otherwise)
        if isinstance(el, airspeed.SetDirective):
            for term in el.terms:
                _check_name(term)
            return Set(tuple(el.terms), self.expression(el.value))
        if isinstance(el, airspeed.ForeachDirective):
            _check_name(el.loop_var_name)
            return Foreach(el.loop_var_name, self.value(el.value), self.block(el.block))
        if isinstance(el, airspeed.MacroDefinition):
            name = el.function_name.lower()
            _check_name(name)
            for param in el.arg_names:
                _check_name(param)
            if name in self.macros:
                raise TemplateError(f"macro '{name}' is defined twice")
            self.macros[name] = Macro(tuple(el.arg_names), self.block(el.block))
            return None
        if isinstance(el, airspeed.MacroCall):
            return MacroCall(el.macro_name, tuple(self.value(a) for a in el.args), el.my_text())
        if isinstance(el, airspeed.StopDirective):
            return Stop()
        raise TemplateError(f"unsupported template construct: {el.my_text()[:40]!r}")

    def condition(self, el: Any) -> Any:
        # Condition and ParenthesizedExpression keep only the bound ``calculate`` of
        # the Expression they parsed.
        expression = getattr(el.calculate, "__self__", None)
        if not isinstance(expression, airspeed.Expression):
            raise TemplateError("unsupported condition")
        return self.expression(expression)

    def expression(self, el: Any) -> Any:
        terms = el.expression
        values = [self.value(terms[0])]
        ops: list[str] = []
        for i in range(1, len(terms), 2):
            op_text = terms[i].my_text().strip()
            op = _ALIASES.get(op_text, op_text)
            if op_text not in _PRECEDENCE:
                raise TemplateError(f"unsupported operator '{op_text}'")
            right = self.value(terms[i + 1])
            while ops and _PRECEDENCE[ops[-1]] <= _PRECEDENCE[op]:
                r = values.pop()
                values.append(Binary(ops.pop(), values.pop(), r))
            ops.append(op)
            values.append(right)
        while ops:
            r = values.pop()
            values.append(Binary(ops.pop(), values.pop(), r))
        return values[0]

    def value(self, el: Any) -> Any:
        if isinstance(el, airspeed.Value):
            el = el.expression
        if isinstance(el, airspeed.FormalReference):
            return self.reference(el)
        if isinstance(el, airspeed.InterpolatedStringLiteral):
            return Interpolated(self.block(el.block))
        if isinstance(
            el,
            airspeed.StringLiteral
            | airspeed.IntegerLiteral
            | airspeed.FloatingPointLiteral
            | airspeed.BooleanLiteral,
        ):
            return Literal(el.value)
        if isinstance(el, airspeed.NullLiteral):
            return Literal(None)
        if isinstance(el, airspeed.ArrayLiteral):
            values = el.values
            if isinstance(values, airspeed.Range):
                return RangeLiteral(self.value(values.value1), self.value(values.value2))
            if isinstance(values, airspeed.ValueList):
                return ListLiteral(tuple(self.value(v) for v in values.values))
            return ListLiteral(())
        if isinstance(el, airspeed.DictionaryLiteral):
            return MapLiteral(
                tuple((self.value(k), self.value(v)) for k, v in el.local_data.items())
            )
        if isinstance(el, airspeed.ParenthesizedExpression):
            return self.condition(el)
        if isinstance(el, airspeed.UnaryOperatorValue):
            return Unary(self.value(el.value))
        raise TemplateError(f"unsupported value: {el.my_text()[:40]!r}")

    def reference(self, el: Any) -> Reference:
        source = el.my_text()
        alternate = self.value(el.alternate.expression) if el.alternate is not None else None
        if el.expression is None:  # "$" or "${}" alone is text
            return Reference("", (), el.silent == "!", alternate, source)
        path: list[Prop | Call | Index] = []
        head = self._name_or_call(el.expression.part, path, head=True)
        sub = el.expression.subexpression
        while sub is not None:
            inner = sub.expression
            if isinstance(inner, airspeed.ArrayIndex):
                path.append(Index(self.value(inner.index)))
                sub = getattr(sub, "subexpression", None)
            else:  # ".name..." : a VariableExpression
                self._name_or_call(inner.part, path, head=False)
                sub = inner.subexpression
        return Reference(head or "", tuple(path), el.silent == "!", alternate, source)

    def _name_or_call(self, part: Any, path: list[Prop | Call | Index], head: bool) -> str | None:
        name = part.name
        _check_name(name)
        if part.parameters is not None:
            if name not in tv.METHOD_NAMES:
                raise TemplateError(
                    f"method '{name}' is not available in templates "
                    "(see README, 'What a template can call')"
                )
            values = part.parameters.values
            args = tuple(self.value(v) for v in getattr(values, "values", ()))
            if head:
                # "$name(...)": Velocity has no global functions; always undefined.
                path.append(Call(name, args))
                return ""
            path.append(Call(name, args))
        elif head:
            pass
        else:
            path.append(Prop(name))
        if part.index is not None:
            path.append(Index(self.value(part.index.index)))
        return name if head else None


def compile_velocity(source: str) -> Program:
    """Parses and translates ``source``; raises TemplateError with the reason."""
    template = airspeed.Template(source)
    try:
        template.ensure_compiled()
        translator = _Translator()
        body = translator.block(template.root_element.block)
    except TemplateError:
        raise
    except airspeed.TemplateSyntaxError as exc:
        raise TemplateError(str(exc)) from None
    except RecursionError:
        raise TemplateError("the template is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is the template's
        raise TemplateError(str(exc) or type(exc).__name__) from None
    return Program(body, translator.macros)

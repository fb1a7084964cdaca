"""Help text that reads like a conventional CLI's.

Typer 0.2x labels values with Python type names (``<str>``, ``<bool>`` on flags) and shows
arguments as ``{token}``. Users know ``TEXT``, ``INTEGER``, no label on flags, and ``TOKEN``
(as in click's own help and git's), so both are relabelled here, once, for every command.
"""

from __future__ import annotations

from typing import Any

import typer.core

_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN", "Path": "PATH"}


def _label(inner: str) -> str:
    if inner.startswith("list[") and inner.endswith("]"):
        return _label(inner[5:-1])
    return _LABELS.get(inner, inner.upper())


def conventional_help() -> None:
    param = typer.core._TyperParameter
    if getattr(param, "_hushcast_help", False):
        return
    typer_display_type = param.display_type
    typer_display_name = param.display_name_raw

    def display_type(self: Any, ctx: Any) -> str:
        if getattr(self, "is_flag", False):
            return ""  # a flag takes no value
        label = str(typer_display_type(self, ctx))
        if label.startswith("<") and label.endswith(">"):
            return _label(label[1:-1])
        return label

    def display_name_raw(self: Any) -> str:
        if self.param_type_name == "argument" and self.metavar is None:
            return str(self.name or "").upper()
        return str(typer_display_name.fget(self))  # type: ignore[attr-defined]

    def usage_display_name(self: Any) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    typer.core.TyperArgument._usage_display_name = usage_display_name  # type: ignore[method-assign]
    param.display_type = display_type  # type: ignore[method-assign]
    param.display_name_raw = property(display_name_raw)  # type: ignore[assignment,method-assign]
    param._hushcast_help = True  # type: ignore[attr-defined]

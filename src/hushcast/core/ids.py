"""Integers from client input: ASCII digits only, from one place.

``"²".isdigit()`` is true and ``int("²")`` raises; ``int("١٢")`` (Arabic-Indic digits)
and ``int("１２")`` (fullwidth) succeed, and ``int()`` of a few thousand digits raises
too. Every id or number the API reads from a string goes through here, so such input
is a clean 400 (the caller's message), never a 500 and never a surprise match.
"""

from __future__ import annotations

import re
from typing import Any

# More digits than any id or duration the API takes; keeps int() far from Python's
# 4300-digit conversion limit.
MAX_DIGITS = 30
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_SIGNED = re.compile(rf"[+-]?[0-9]{{1,{MAX_DIGITS}}}")


def ascii_int(text: str, *, signed: bool = False) -> int | None:
    """The integer a string of ASCII digits spells (surrounding spaces allowed, a leading
    sign only when ``signed``), else None."""
    text = text.strip()
    if not (_SIGNED if signed else _DIGITS).fullmatch(text):
        return None
    return int(text)


def positive_int(value: Any) -> int | None:
    """A positive integer given as a JSON integer or a string of ASCII digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = ascii_int(value)
    if isinstance(value, int) and value > 0:
        return value
    return None

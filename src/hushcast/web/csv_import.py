"""The subscribers CSV import, pure part: read the file, guess the column mapping, turn
rows into the API's token items (checked one by one so that a bad row is rejected with its
reason instead of failing the file). Registering is the contacts service's job."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from hushcast.contacts import service as contacts_service
from hushcast.contacts.service import TokenItem
from hushcast.core.errors import ApiError

MAX_BYTES = 5_000_000
MAX_ROWS = 50_000
PREVIEW_ROWS = 5
TARGETS = ("token", "externalCustomerId", "phone", "email")
IGNORE = ""
# Header names (lower case, without spaces, "_" or "-") recognised for each target.
_ALIASES = {
    "token": ("token", "chatid", "chat", "telegramid", "telegram", "tgid", "userid"),
    "externalCustomerId": ("externalcustomerid", "customerid", "externalid", "customer", "id"),
    "phone": ("phone", "phonenumber", "mobile", "tel"),
    "email": ("email", "mail", "emailaddress"),
}


class CsvError(ValueError):
    pass


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    has_header: bool


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class Prepared:
    items: list[tuple[int, TokenItem]] = field(default_factory=list)  # (line, item)
    rejected: list[Rejected] = field(default_factory=list)


def read_table(data: bytes) -> Table:
    """The CSV's rows (comma, semicolon or tab separated; UTF-8, BOM allowed)."""
    if len(data) > MAX_BYTES:
        raise CsvError(f"The file is larger than {MAX_BYTES // 1_000_000} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("The file is not UTF-8 text (save it as CSV UTF-8)") from None
    if "\x00" in text:
        raise CsvError("The file is not a CSV (it holds binary data)")
    sample = text[:10_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise CsvError(f"The CSV could not be read: {exc}") from None
    if not rows:
        raise CsvError("The file has no rows")
    if len(rows) > MAX_ROWS + 1:
        raise CsvError(f"At most {MAX_ROWS} rows per import")
    width = max(len(r) for r in rows)
    rows = [[c.strip() for c in r] + [""] * (width - len(r)) for r in rows]
    first = rows[0]
    has_header = not any(c.lstrip("+-").isdigit() for c in first) and any(
        _target_of(c) for c in first
    )
    header = first if has_header else [f"Column {i + 1}" for i in range(width)]
    return Table(header, rows[1:] if has_header else rows, has_header)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " _-.")


def _target_of(name: str) -> str | None:
    key = _norm(name)
    for target, aliases in _ALIASES.items():
        if key in aliases:
            return target
    return None


def guess_mapping(table: Table) -> list[str]:
    """A target for each column (or IGNORE), each target used once."""
    used: set[str] = set()
    mapping: list[str] = []
    for i, name in enumerate(table.header):
        target = _target_of(name) if table.has_header else None
        if target is None and not table.has_header:
            target = _guess_by_values([r[i] for r in table.rows[:20]])
        if target in used:
            target = None
        if target:
            used.add(target)
        mapping.append(target or IGNORE)
    return mapping


def _guess_by_values(values: list[str]) -> str | None:
    values = [v for v in values if v]
    if not values:
        return None
    if all("@" in v for v in values):
        return "email"
    if all(v.startswith("+") for v in values):
        return "phone"
    if all(v.lstrip("-").isdigit() for v in values):
        return "token"
    return None


def check_mapping(mapping: list[str], width: int) -> list[str]:
    """The mapping from the form, or CsvError with what is wrong."""
    if len(mapping) != width or any(m not in (*TARGETS, IGNORE) for m in mapping):
        raise CsvError("The column mapping does not match the file")
    chosen = [m for m in mapping if m]
    if len(chosen) != len(set(chosen)):
        raise CsvError("Map each field to one column only")
    if "token" not in chosen:
        raise CsvError("Choose the column that holds the chat id (token)")
    if len(chosen) < 2:
        raise CsvError(
            "Choose a column for externalCustomerId, phone or email too: "
            "each subscriber is matched to a contact by one of them"
        )
    return mapping


def prepare(table: Table, mapping: list[str]) -> Prepared:
    """Each row as the API's token item, checked alone: bad rows are rejected with the
    API's reason, the others go on."""
    out = Prepared()
    first_line = 2 if table.has_header else 1
    for n, row in enumerate(table.rows):
        line = first_line + n
        entry = {target: row[i] for i, target in enumerate(mapping) if target and row[i]}
        try:
            (item,) = contacts_service.parse_token_items({"tokens": [entry]})
        except ApiError as exc:
            out.rejected.append(Rejected(line, exc.detail.replace("tokens[0].", "")))
            continue
        out.items.append((line, item))
    return out

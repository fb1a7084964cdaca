"""``hushcast tokens import``: a CSV of subscribers registered in batches, with progress."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
)
from rich.table import Table

from hushcast.cli_api import (
    DEFAULT_URL,
    ApiFailure,
    AppOption,
    KeyOption,
    UrlOption,
    api_client,
    api_errors,
    err,
    markup_escape,
)
from hushcast.core.ids import ascii_int

MAX_TOKENS_PER_REQUEST = 10_000
TOKEN_ID_COLUMNS = ("contactId", "externalCustomerId", "phone", "email")

tokens_app = typer.Typer(help="Subscriber tokens (through the HTTP API).", no_args_is_help=True)

_ITEM_INDEX = re.compile(r"tokens\[(\d+)\]")
RESULT_FIELDS = (
    "contactsCreated",
    "tokensAdded",
    "tokensMoved",
    "tokensReactivated",
    "tokensUnchanged",
)


def _count_records(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return max(0, sum(1 for row in csv.reader(f) if row) - 1)


def _token_item(row: dict[str, str | None], columns: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    token = (row.get("token") or "").strip()
    item["token"] = token
    for name in columns:
        value = (row.get(name) or "").strip()
        if not value:
            continue
        # ASCII digits only: "²".isdigit() is true and int("²") raises; the server
        # answers any other value with a 400 naming the row.
        number = ascii_int(value) if name == "contactId" else None
        item[name] = value if number is None else number
    return item


def _batches(
    f: IO[str], columns: list[str], batch_size: int
) -> Iterator[tuple[list[dict[str, Any]], list[int]]]:
    """Yields (items, CSV line number of each item)."""
    reader = csv.DictReader(f)
    reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    for row in reader:
        items.append(_token_item(row, columns))
        lines.append(reader.line_num)  # the record's last line: exact for one-line rows
        if len(items) >= batch_size:
            yield items, lines
            items, lines = [], []
    if items:
        yield items, lines


def _with_line_numbers(detail: str, lines: list[int]) -> str:
    def repl(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if 0 <= index < len(lines):
            return f"CSV line {lines[index]}"
        return match.group(0)

    return _ITEM_INDEX.sub(repl, detail)


@tokens_app.command("import")
def tokens_import(
    app_uuid: AppOption,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: token and any of contactId, externalCustomerId, phone, email",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, max=MAX_TOKENS_PER_REQUEST, help="Rows per API request"
        ),
    ] = MAX_TOKENS_PER_REQUEST,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Registers subscribers' chat ids from a CSV file, in batches."""
    with file.open(newline="", encoding="utf-8-sig") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    if "token" not in header:
        err.print(f"[red]{markup_escape(str(file))}: the header needs a 'token' column.[/red]")
        raise typer.Exit(2)
    # No identifier column is fine: each bare chat id gets a contact of its own.
    columns = [c for c in TOKEN_ID_COLUMNS if c in header]
    total = _count_records(file)
    totals = dict.fromkeys(RESULT_FIELDS, 0)
    imported = 0
    with api_client(url, key) as client, api_errors():
        progress = Progress(
            TextColumn("Importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            console=err,
        )
        with progress, file.open(newline="", encoding="utf-8-sig") as f:
            task = progress.add_task("tokens", total=total)
            for items, lines in _batches(f, columns, batch_size):
                try:
                    result = client.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
                except ApiFailure as exc:
                    if exc.status == 400:
                        progress.stop()
                        err.print(
                            f"[red]Rows {lines[0]}–{lines[-1]} rejected: "
                            f"{markup_escape(_with_line_numbers(exc.detail, lines))}[/red]"
                        )
                        if imported:
                            err.print(f"{imported:,} rows before line {lines[0]} were imported.")
                        _print_totals(totals, imported)
                        raise typer.Exit(1) from None
                    raise
                for name in RESULT_FIELDS:
                    totals[name] += int(result.get(name) or 0)
                imported += len(items)
                progress.update(task, completed=imported)
    _print_totals(totals, imported)


def _print_totals(totals: dict[str, int], rows: int) -> None:
    table = Table("result", "count", title=f"Imported {rows:,} rows")
    for name in RESULT_FIELDS:
        table.add_row(name, f"{totals[name]:,}")
    Console().print(table)

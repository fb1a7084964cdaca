"""``hushcast`` commands that drive a running service through its HTTP API.

Every command takes ``--url`` (env ``HUSHCAST_URL``, default http://127.0.0.1:8000) and
``--key`` (env ``HUSHCAST_API_KEY``). A missing key exits 2; an API error prints the problem
``detail`` in red and exits 1.

httpx is imported lazily, so the server commands of ``hushcast`` work without it.
"""

from __future__ import annotations

import contextlib
import csv
import re
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
)
from rich.table import Table

from hushcast.core.ids import ascii_int

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
MAX_TOKENS_PER_REQUEST = 10_000
TERMINAL_STATUSES = ("FINISHED", "CANCELLED")
TOKEN_ID_COLUMNS = ("contactId", "externalCustomerId", "phone", "email")

err = Console(stderr=True)

broadcast_app = typer.Typer(help="Broadcasts (through the HTTP API).", no_args_is_help=True)
tokens_app = typer.Typer(help="Subscriber tokens (through the HTTP API).", no_args_is_help=True)


# --------------------------------------------------------------------------------------------
# HTTP client


class ApiFailure(Exception):
    """The API answered an error (or could not be reached)."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str) and detail:
            return detail
        if detail is not None:
            return str(detail)
    text = response.text.strip()
    return f"HTTP {response.status_code}" + (f": {text[:300]}" if text else "")


class ApiClient:
    """A small synchronous client for the Hushcast HTTP API."""

    def __init__(self, url: str, key: str, timeout: float = 60.0) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx ships with the dev extras
            err.print("[red]These commands need httpx: pip install httpx[/red]")
            raise typer.Exit(2) from None
        self.url = url.rstrip("/")
        self._httpx = httpx
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except self._httpx.HTTPError as exc:
            raise ApiFailure(f"Cannot reach Hushcast at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise ApiFailure(_detail(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    @contextlib.contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiFailure(_detail(response), response.status_code)
                yield response
        except self._httpx.HTTPError as exc:
            raise ApiFailure(f"Cannot reach Hushcast at {self.url}: {exc}") from None


UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="HUSHCAST_URL", help="Base URL of the Hushcast service"),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="HUSHCAST_API_KEY", help="API key", show_default=False),
]
AppOption = Annotated[str, typer.Option("--app", help="Bot app uuid", show_default=False)]


def _client(url: str, key: str | None) -> ApiClient:
    if not key or not key.strip():
        err.print(
            "[red]No API key: pass --key or set HUSHCAST_API_KEY "
            "(create one with `hushcast keys create --org NAME`).[/red]"
        )
        raise typer.Exit(2)
    return ApiClient(url, key.strip())


@contextlib.contextmanager
def api_errors() -> Iterator[None]:
    """Prints an API error's detail in red and exits 1."""
    try:
        yield
    except ApiFailure as exc:
        prefix = f"Error {exc.status}: " if exc.status else "Error: "
        hint = ""
        if exc.status == 401:
            hint = (
                " (check --key or HUSHCAST_API_KEY; `hushcast keys create --org NAME` makes a key)"
            )
        err.print(f"[red]{prefix}{_escape(exc.detail)}{_escape(hint)}[/red]")
        raise typer.Exit(1) from None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# --------------------------------------------------------------------------------------------
# apps


def _num(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


# --------------------------------------------------------------------------------------------
# mute / unmute

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """``90m``, ``2h``, ``7d``, ``30s``, ``1w`` or combinations such as ``1h30m`` -> seconds."""
    clean = text.strip().lower().replace(" ", "")
    if not clean or _DURATION_PART.sub("", clean):
        raise ValueError(
            f"Invalid duration {text!r}: use a number with a unit s, m, h, d or w "
            "(e.g. 30s, 90m, 2h, 7d, 1w)"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(clean))
    if seconds <= 0:
        raise ValueError(f"Invalid duration {text!r}: must be longer than 0 seconds")
    return seconds


def mute(
    token: Annotated[str, typer.Argument(help="Chat id (token) to mute")],
    app_uuid: AppOption,
    duration: Annotated[
        str | None,
        typer.Option("--for", help="How long: 30s, 90m, 2h, 7d, 1w; omit for forever"),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Stops broadcasts to a chat (transactional messages still go through)."""
    body: dict[str, Any] = {"token": token}
    if duration is not None:
        try:
            body["duration"] = parse_duration(duration)
        except ValueError as exc:
            err.print(f"[red]{_escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    with _client(url, key) as client, api_errors():
        result = client.post(f"/v1/apps/{app_uuid}/token/mute", json=body)
    until = (result or {}).get("mutedUntil")
    if duration is None or (until and until.startswith("9999")):
        err.print(f"Muted chat [bold]{_escape(token)}[/bold] forever.")
    else:
        err.print(f"Muted chat [bold]{_escape(token)}[/bold] until {until}.")


def unmute(
    token: Annotated[str, typer.Argument(help="Chat id (token) to unmute")],
    app_uuid: AppOption,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Ends a chat's mute now."""
    with _client(url, key) as client, api_errors():
        client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": token})
    err.print(f"Unmuted chat [bold]{_escape(token)}[/bold].")


# --------------------------------------------------------------------------------------------
# broadcast send / follow


class _RateMeter:
    """Messages per second over a sliding window of samples."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> float | None:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        first_t, first_done = self.samples[0]
        if now - first_t < 0.2:
            return None
        return max(0.0, (done - first_done) / (now - first_t))


def _processed(view: dict[str, Any]) -> int:
    return sum(
        int(view.get(name) or 0) for name in ("delivered", "unavailable", "errors", "cancelled")
    )


def _eta(remaining: int, rate: float | None) -> str:
    if remaining <= 0:
        return "0:00:00"
    if not rate:
        return "-:--:--"
    seconds = int(remaining / rate + 0.5)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def follow_broadcast(
    client: ApiClient,
    broadcast_id: int,
    *,
    console: Console | None = None,
    interval: float = 0.5,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Shows a progress bar until the broadcast is FINISHED or CANCELLED; returns its view."""
    console = console or err
    meter = _RateMeter()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]#{task.fields[bid]}[/bold] {task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("[green]delivered {task.fields[delivered]}[/green]"),
        TextColumn("[yellow]unavailable {task.fields[unavailable]}[/yellow]"),
        TextColumn("[red]errors {task.fields[errors]}[/red]"),
        TextColumn("{task.fields[rate]} msg/s"),
        TextColumn("ETA {task.fields[eta]}"),
        console=console,
        refresh_per_second=4,
    )
    deadline = None if timeout is None else time.monotonic() + timeout
    with progress:
        task = progress.add_task(
            "broadcast",
            total=None,
            bid=broadcast_id,
            status="…",
            delivered=0,
            unavailable=0,
            errors=0,
            rate="-",
            eta="-:--:--",
        )
        while True:
            view: dict[str, Any] = client.get(f"/v1/broadcast/{broadcast_id}")
            total = int(view.get("totalContacts") or 0)
            done = _processed(view)
            rate = meter.add(time.monotonic(), done)
            progress.update(
                task,
                total=total if total > 0 else None,
                completed=done,
                status=view.get("status", "?"),
                delivered=view.get("delivered", 0),
                unavailable=view.get("unavailable", 0),
                errors=view.get("errors", 0),
                rate="-" if rate is None else f"{rate:.1f}",
                eta=_eta(total - done, rate) if total else "-:--:--",
            )
            if view.get("status") in TERMINAL_STATUSES:
                if total == 0:
                    progress.update(task, total=1, completed=1)
                return view
            if deadline is not None and time.monotonic() > deadline:
                raise ApiFailure(f"Broadcast {broadcast_id} did not finish in {timeout:.0f}s")
            time.sleep(interval)


def counters_table(view: dict[str, Any], title: str = "Broadcast") -> Table:
    table = Table("counter", "value", title=title)
    for name in (
        "status",
        "totalContacts",
        "inQueue",
        "sent",
        "delivered",
        "clicked",
        "unavailable",
        "errors",
        "cancelled",
    ):
        if name not in view:
            continue
        value = view[name]
        if isinstance(value, dict):  # the report's {"total", "byErrorType", ...}
            value = value.get("total")
        table.add_row(name, _num(value))
    return table


@broadcast_app.command("send")
def broadcast_send(
    app_uuid: AppOption,
    message_id: Annotated[int, typer.Option("--message", help="Message id", show_default=False)],
    group: Annotated[
        list[int] | None,
        typer.Option("--group", help="Only contacts in this group (repeatable)"),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show progress until the broadcast ends")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", metavar="DATETIME", help="Start then (UTC, e.g. 2027-01-15T09:00), not now"
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Starts a broadcast of a message to a bot's subscribers; prints its id."""
    body: dict[str, Any] = {"messageId": message_id, "appId": app_uuid}
    if start:
        body["startDate"] = start
    if group:
        body["groups"] = list(group)
    with _client(url, key) as client, api_errors():
        created = client.post("/v1/broadcast", json=body)
        bid = int(created["broadcastId"])
        sys.stdout.write(f"{bid}\n")
        sys.stdout.flush()
        err.print(f"Broadcast [bold]{bid}[/bold] created ({created.get('status', '?')}).")
        if not follow:
            return
        try:
            final = follow_broadcast(client, bid)
        except KeyboardInterrupt:
            err.print(f"Stopped following; broadcast {bid} goes on.")
            raise typer.Exit(130) from None
    # stderr: stdout holds the id alone, for BID=$(hushcast broadcast send ... --follow).
    err.print(counters_table(final, title=f"Broadcast {bid}: {final.get('status')}"))


# --------------------------------------------------------------------------------------------
# report


def report(
    broadcast_id: Annotated[int, typer.Argument(help="Broadcast id")],
    csv_file: Annotated[
        str | None,
        typer.Option("--csv", help="Download the per-contact report as CSV to FILE (- = stdout)"),
    ] = None,
    bucket: Annotated[
        str, typer.Option(help="Which contacts to download with --csv (e.g. all, errors)")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead")] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Shows a broadcast's report; --csv downloads the per-contact rows."""
    with _client(url, key) as client, api_errors():
        if csv_file is not None:
            _download_csv(client, broadcast_id, bucket, csv_file)
            return
        data = client.get(f"/v1/broadcast/{broadcast_id}/report")
    if as_json:
        import json

        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    print_report(data, Console())


def print_report(data: dict[str, Any], console: Console) -> None:
    bid = data.get("broadcastId")
    console.print(counters_table(data, title=f"Broadcast {bid} report: {data.get('status')}"))
    unavailable = data.get("unavailable")
    if isinstance(unavailable, dict):
        by_type = unavailable.get("byErrorType") or {}
        by_name = unavailable.get("byErrorName") or {}
        if by_type:
            console.print(_breakdown("Unavailable by error type", "error type", by_type))
        if by_name:
            console.print(_breakdown("Unavailable by error name", "error name", by_name))
    errors_by_name = data.get("errorsByName") or {}
    if errors_by_name:
        console.print(_breakdown("Errors by name", "error name", errors_by_name))


def _breakdown(title: str, column: str, counts: dict[str, Any]) -> Table:
    table = Table(column, "count", title=title)
    for name, count in sorted(counts.items(), key=lambda kv: (-int(kv[1] or 0), kv[0])):
        table.add_row(str(name), _num(count))
    return table


def _download_csv(client: ApiClient, broadcast_id: int, bucket: str, target: str) -> None:
    path = f"/v1/broadcast/{broadcast_id}/report/contacts"
    params = {"bucket": bucket, "format": "csv"}
    headers = {"Accept": "text/csv"}
    if target == "-":
        with client.stream(path, params=params, headers=headers) as response:
            for text in response.iter_text():
                sys.stdout.write(text)
        sys.stdout.flush()
        return
    out = Path(target)
    tmp = out.with_name(out.name + ".part")
    size = 0
    try:
        with client.stream(path, params=params, headers=headers) as response, tmp.open("wb") as f:
            for data in response.iter_bytes():
                f.write(data)
                size += len(data)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    err.print(f"Wrote {size:,} bytes to [bold]{_escape(str(out))}[/bold].")


# --------------------------------------------------------------------------------------------
# tokens import

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
        err.print(f"[red]{_escape(str(file))}: the header needs a 'token' column.[/red]")
        raise typer.Exit(2)
    # No identifier column is fine: each bare chat id gets a contact of its own.
    columns = [c for c in TOKEN_ID_COLUMNS if c in header]
    total = _count_records(file)
    totals = dict.fromkeys(RESULT_FIELDS, 0)
    imported = 0
    with _client(url, key) as client, api_errors():
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
                            f"{_escape(_with_line_numbers(exc.detail, lines))}[/red]"
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


# --------------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Adds the HTTP-API commands to the main ``hushcast`` app."""
    app.command("mute")(mute)
    app.command("unmute")(unmute)
    app.command("report")(report)
    app.add_typer(broadcast_app, name="broadcast")
    app.add_typer(tokens_app, name="tokens")

"""``hushcast broadcast send`` (with a progress bar until it ends) and ``hushcast report``."""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any

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

from hushcast.cli_api import (
    DEFAULT_URL,
    ApiClient,
    ApiFailure,
    AppOption,
    KeyOption,
    UrlOption,
    api_client,
    api_errors,
    err,
    markup_escape,
    number_text,
)

TERMINAL_STATUSES = ("FINISHED", "CANCELLED")

broadcast_app = typer.Typer(help="Broadcasts (through the HTTP API).", no_args_is_help=True)


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
        table.add_row(name, number_text(value))
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
    with api_client(url, key) as client, api_errors():
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
    with api_client(url, key) as client, api_errors():
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
        table.add_row(str(name), number_text(count))
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
    err.print(f"Wrote {size:,} bytes to [bold]{markup_escape(str(out))}[/bold].")

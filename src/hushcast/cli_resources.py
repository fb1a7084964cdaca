"""``hushcast apps|messages|broadcast ...``: create, list and show the API's resources.

Commands that create something print its id (or uuid) alone on stdout, so a shell can
capture it: ``APP=$(hushcast apps add TOKEN)``. Read commands print tables, or the API's
JSON with ``--json``. Everything else (progress, confirmations) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hushcast.cli_api import (
    DEFAULT_URL,
    KeyOption,
    UrlOption,
    api_client,
    api_errors,
    err,
    markup_escape,
)
from hushcast.cli_broadcasts import broadcast_app, counters_table, follow_broadcast

apps_app = typer.Typer(
    help="Bots (through the HTTP API). Without a command: list them.",
    invoke_without_command=True,
)
messages_app = typer.Typer(help="Telegram messages (through the HTTP API).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_id(value: Any) -> None:
    """A bare value on stdout, for ``VAR=$(hushcast ...)``."""
    sys.stdout.write(f"{value}\n")
    sys.stdout.flush()


# Ids and uuids are copied into the next command: never cut nor wrapped (other columns
# wrap instead, even at 80 columns).
_WHOLE = {"appUuid": 36, "id": 6, "broadcastId": 11}


def _table(*columns: str, title: str) -> Table:
    table = Table(title=title)
    for name in columns:
        if name in _WHOLE:
            table.add_column(name, no_wrap=True, min_width=_WHOLE[name])
        else:
            table.add_column(name, overflow="fold")
    return table


# --------------------------------------------------------------------------------------------
# apps


def _list_apps(url: str, key: str | None, as_json: bool) -> None:
    with api_client(url, key) as client, api_errors():
        items = client.get("/v1/apps")
    if as_json:
        print_json(items)
        return
    table = _table("appUuid", "username", "name", "subscribers", "mutedNow", title="Bots")
    for item in items:
        table.add_row(
            str(item.get("appUuid")),
            "@" + str(item.get("botUsername") or ""),
            str(item.get("name") or ""),
            f"{item.get('subscribers', 0):,}",
            f"{item.get('mutedNow', 0):,}",
        )
    Console().print(table)
    if not items:
        err.print("No bots yet: connect one with `hushcast apps add TOKEN`.")


@apps_app.callback()
def apps_default(
    ctx: typer.Context,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Bots (through the HTTP API). Without a command: list them."""
    if ctx.invoked_subcommand is None:
        _list_apps(url, key, as_json)


@apps_app.command("list")
def apps_list(
    as_json: JsonOption = False, url: UrlOption = DEFAULT_URL, key: KeyOption = None
) -> None:
    """Lists the organisation's bots with subscriber and mute counts."""
    _list_apps(url, key, as_json)


@apps_app.command("add")
def apps_add(
    bot_token: Annotated[
        str, typer.Argument(metavar="TOKEN", help="The bot's token from @BotFather")
    ],
    name: Annotated[
        str | None, typer.Option(metavar="TEXT", help="A name for the bot", show_default=False)
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Connects a bot by its token; prints its app uuid alone on stdout."""
    body: dict[str, Any] = {"botToken": bot_token}
    if name:
        body["name"] = name
    with api_client(url, key) as client, api_errors():
        created = client.post("/v1/apps", json=body)
    print_id(created["appUuid"])
    err.print(f"Connected @{markup_escape(str(created.get('botUsername')))}.")


# --------------------------------------------------------------------------------------------
# messages


@messages_app.command("create")
def messages_create(
    text: Annotated[str, typer.Option(metavar="TEXT", help="Message text (merge tags, Velocity)")],
    name: Annotated[str, typer.Option(metavar="TEXT", help="A name for the message")] = "",
    image: Annotated[
        str | None, typer.Option(metavar="URL", help="Image URL (text becomes its caption)")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Creates a Telegram message; prints its id alone on stdout."""
    body: dict[str, Any] = {"name": name or text[:50], "text": text}
    if image:
        body["imageSource"] = image
    with api_client(url, key) as client, api_errors():
        created = client.post("/v1/messages/telegram", json=body)
    print_id(created["id"])


@messages_app.command("list")
def messages_list(
    search: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Only names containing this")
    ] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Lists messages, newest first."""
    params = {"search": search} if search else None
    with api_client(url, key) as client, api_errors():
        items = client.get("/v1/messages/telegram", params=params)
    if as_json:
        print_json(items)
        return
    table = _table("id", "name", "text", title="Messages")
    for item in items:
        text = str(item.get("text") or "").replace("\n", " ")
        table.add_row(str(item["id"]), str(item.get("name") or ""), text[:60])
    Console().print(table)


@messages_app.command("show")
def messages_show(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="Message id")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Shows one message."""
    with api_client(url, key) as client, api_errors():
        item = client.get(f"/v1/messages/telegram/{message_id}")
    if as_json:
        print_json(item)
        return
    table = _table("field", "value", title=f"Message {message_id}")
    for field in ("id", "name", "text", "imageSource", "createdAt", "updatedAt"):
        table.add_row(field, "" if item.get(field) is None else str(item[field]))
    for button in item.get("buttons") or []:
        table.add_row("button", f"{button.get('text')} → {button.get('link') or ''}")
    Console().print(table)


# --------------------------------------------------------------------------------------------
# broadcast list|show|pause|resume|cancel (send lives in cli_broadcasts)

BroadcastId = Annotated[int, typer.Argument(metavar="ID", help="Broadcast id")]


@broadcast_app.command("list")
def broadcast_list(
    maxrows: Annotated[int, typer.Option(metavar="N", min=1, max=500, help="How many")] = 20,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Lists broadcasts, newest first, with their counters."""
    with api_client(url, key) as client, api_errors():
        items = client.get("/v1/broadcasts", params={"maxrows": maxrows})
    if as_json:
        print_json(items)
        return
    columns = ("broadcastId", "title", "status", "totalContacts", "delivered", "unavailable")
    table = _table(*columns, "errors", title="Broadcasts")
    for item in items:
        table.add_row(*(str(item.get(c, "")) for c in (*columns, "errors")))
    Console().print(table)


def _show(broadcast_id: int, view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    Console().print(counters_table(view, title=f"Broadcast {broadcast_id}: {view.get('status')}"))


@broadcast_app.command("show")
def broadcast_show(
    broadcast_id: BroadcastId,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show progress until the broadcast ends")
    ] = False,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Shows a broadcast's status and counters (--follow: until it ends)."""
    with api_client(url, key) as client, api_errors():
        if follow:
            view = follow_broadcast(client, broadcast_id)
        else:
            view = client.get(f"/v1/broadcast/{broadcast_id}")
    _show(broadcast_id, view, as_json)


def _action(method: str, suffix: str, done: str) -> Any:
    def command(
        broadcast_id: BroadcastId,
        as_json: JsonOption = False,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
    ) -> None:
        with api_client(url, key) as client, api_errors():
            view = client.request(method, f"/v1/broadcast/{broadcast_id}{suffix}")
        if as_json:
            print_json(view)
        else:
            err.print(f"Broadcast {broadcast_id} {done} ({view.get('status')}).")

    return command


broadcast_app.command("pause", help="Pauses a broadcast (resume goes on where it stopped).")(
    _action("POST", "/pause", "paused")
)
broadcast_app.command("resume", help="Resumes a paused broadcast.")(
    _action("POST", "/resume", "resumed")
)
broadcast_app.command("cancel", help="Cancels a broadcast: nothing more is sent.")(
    _action("DELETE", "", "cancelled")
)


def register(app: typer.Typer) -> None:
    app.add_typer(apps_app, name="apps")
    app.add_typer(messages_app, name="messages")

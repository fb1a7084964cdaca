"""``hushcast`` commands that drive a running service through its HTTP API: ``mute`` and
``unmute`` here, and the registration of the rest (``cli_broadcasts.py``,
``cli_tokens.py``; the client they share is ``cli_api.py``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from hushcast.cli_api import (
    DEFAULT_URL,
    AppOption,
    KeyOption,
    UrlOption,
    api_client,
    api_errors,
    err,
    markup_escape,
)
from hushcast.cli_broadcasts import broadcast_app, report
from hushcast.cli_tokens import tokens_app

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
            err.print(f"[red]{markup_escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    with api_client(url, key) as client, api_errors():
        result = client.post(f"/v1/apps/{app_uuid}/token/mute", json=body)
    until = (result or {}).get("mutedUntil")
    if duration is None or (until and until.startswith("9999")):
        err.print(f"Muted chat [bold]{markup_escape(token)}[/bold] forever.")
    else:
        err.print(f"Muted chat [bold]{markup_escape(token)}[/bold] until {until}.")


def unmute(
    token: Annotated[str, typer.Argument(help="Chat id (token) to unmute")],
    app_uuid: AppOption,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Ends a chat's mute now."""
    with api_client(url, key) as client, api_errors():
        client.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": token})
    err.print(f"Unmuted chat [bold]{markup_escape(token)}[/bold].")


def register(app: typer.Typer) -> None:
    """Adds the HTTP-API commands to the main ``hushcast`` app."""
    app.command("mute")(mute)
    app.command("unmute")(unmute)
    app.command("report")(report)
    app.add_typer(broadcast_app, name="broadcast")
    app.add_typer(tokens_app, name="tokens")

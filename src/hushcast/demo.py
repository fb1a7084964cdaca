"""``hushcast demo``: a complete local demo on a fresh SQLite database.

Starts the fake Telegram Bot API (a background thread, real flood limits) and the service
(API + worker + dashboard, in-process uvicorn thread), creates an API key, connects a demo bot,
registers subscribers, mutes a few, and starts a broadcast, then shows live progress until
Ctrl-C (or, with ``--exit-when-done``, until the broadcast ends).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from hushcast.cli_api import ApiClient, ApiFailure
from hushcast.cli_broadcasts import counters_table, follow_broadcast

if TYPE_CHECKING:
    import uvicorn

    from hushcast.telegram.testing import FakeTelegramThread

out = Console()
err = Console(stderr=True)

FIRST_CHAT_ID = 100_000_001
FREE_TIER_RATE = 30.0


class DemoError(Exception):
    pass


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _install_stop_signals() -> None:
    """Ctrl-C and SIGTERM stop the demo cleanly (even if started with SIGINT ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _fresh_db_path(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"demo-{stamp}.db"
    if path.exists():
        path = directory / f"demo-{stamp}-{uuid.uuid4().hex[:6]}.db"
    return path


class _Service:
    """The Hushcast app (API + worker) under uvicorn in a daemon thread."""

    def __init__(self, settings: Any, port: int) -> None:
        import uvicorn

        from hushcast.app import create_app

        application = create_app(settings, run_worker=True)
        self.server: uvicorn.Server = uvicorn.Server(
            uvicorn.Config(
                application, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="hushcast", daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise DemoError("the service did not start (is the port already in use?)")
            if time.monotonic() > deadline:
                raise DemoError("the service did not start in time")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)


def _setup(
    client: ApiClient,
    fake: FakeTelegramThread,
    subscribers: int,
    rate: float | None,
) -> tuple[str, int, int]:
    """Connects the bot, registers and mutes subscribers, creates the message, starts the
    broadcast. Returns (app uuid, message id, broadcast id)."""
    bot_token = f"1234567:DEMO{uuid.uuid4().hex}"
    bot = client.post("/v1/apps", json={"botToken": bot_token, "name": "Hushcast demo bot"})
    app_uuid = str(bot["appUuid"])
    err.print(f"Connected demo bot [bold]@{escape(str(bot.get('botUsername')))}[/bold].")
    if rate is not None:
        client.patch(f"/v1/apps/{app_uuid}", json={"messagesPerSecond": rate})
        if rate > FREE_TIER_RATE:
            # Let the fake Telegram accept the faster pace (as for a paid broadcast).
            fake.configure(global_rate=rate * 1.5)

    chat_ids = [str(FIRST_CHAT_ID + i) for i in range(subscribers)]
    for start in range(0, len(chat_ids), 10_000):
        batch = chat_ids[start : start + 10_000]
        items = [
            {"token": chat, "externalCustomerId": f"demo-{start + i + 1}"}
            for i, chat in enumerate(batch)
        ]
        client.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
    err.print(f"Registered [bold]{subscribers:,}[/bold] subscribers.")

    # 5 muted forever and 5 for an hour at the head of the queue; 5 for 10 seconds at its
    # tail, so on a slow broadcast their mute has ended by the time they are reached.
    forever = chat_ids[:5]
    hour = chat_ids[5:10]
    short = [c for c in chat_ids[-5:] if c not in forever and c not in hour]
    if forever:
        client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": forever})
    if hour:
        client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": hour, "duration": 3600})
    if short:
        client.post(f"/v1/apps/{app_uuid}/token/mute", json={"tokens": short, "duration": 10})
    err.print(
        f"Muted {len(forever)} chats forever, {len(hour)} for an hour, {len(short)} for 10 seconds."
    )

    message = client.post(
        "/v1/messages/telegram",
        json={
            "name": "Demo broadcast",
            "text": "Hello from Hushcast! This is a demo broadcast.",
            "buttons": [{"text": "Learn more", "link": "https://example.com/hushcast-demo"}],
        },
    )
    message_id = int(message["id"])
    created = client.post("/v1/broadcast", json={"messageId": message_id, "appId": app_uuid})
    return app_uuid, message_id, int(created["broadcastId"])


def _print_intro(
    base_url: str, telegram_url: str, db_path: Path, key: str, app_uuid: str, bid: int
) -> None:
    out.print(
        Panel.fit(
            f"Dashboard:     [bold cyan]{base_url}/ui[/bold cyan]\n"
            f"API:           [bold cyan]{base_url}/v1[/bold cyan]\n"
            f"API docs:      {base_url}/docs\n"
            f"API key:       [bold yellow]{key}[/bold yellow]\n"
            f"Demo bot app:  {app_uuid}\n"
            f"Broadcast:     {bid}\n"
            f"Fake Telegram: {telegram_url}\n"
            f"Database:      {db_path}",
            title="Hushcast demo",
        )
    )
    auth = f'-H "Authorization: Bearer {key}"'
    examples = [
        ("Broadcast progress", f"curl -s {auth} {base_url}/v1/broadcast/{bid}"),
        ("Broadcast report", f"curl -s {auth} {base_url}/v1/broadcast/{bid}/report"),
        (
            "Mute a chat for 2 hours",
            f"curl -s {auth} -H 'Content-Type: application/json' "
            f'-d \'{{"token": "{FIRST_CHAT_ID + 20}", "duration": 7200}}\' '
            f"{base_url}/v1/apps/{app_uuid}/token/mute",
        ),
        ("Bots", f"curl -s {auth} {base_url}/v1/apps"),
    ]
    out.print("\n[bold]Try:[/bold]")
    for label, command in examples:
        out.print(f"  # {label}")
        out.print(f"  {escape(command)}", soft_wrap=True)
    out.print(
        f"\nOr use the CLI: export HUSHCAST_URL={base_url} HUSHCAST_API_KEY={key}; "
        f"hushcast apps; hushcast report {bid}\n",
        soft_wrap=True,
    )


def demo(
    port: Annotated[int, typer.Option(help="Port for the API and dashboard")] = 8000,
    telegram_port: Annotated[int, typer.Option(help="Port for the fake Telegram API")] = 8081,
    subscribers: Annotated[int, typer.Option(min=1, help="Subscribers to register")] = 1000,
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, max=1000, help="The bot's messages per second (default 30/s)"),
    ] = None,
    exit_when_done: Annotated[
        bool, typer.Option("--exit-when-done", help="Stop once the broadcast has finished")
    ] = False,
    var_dir: Annotated[
        Path, typer.Option("--var-dir", help="Directory for the demo database")
    ] = Path("var"),
) -> None:
    """Runs a local demo: fake Telegram, the service, a bot, subscribers and a broadcast."""
    from hushcast.core.config import Settings, get_settings
    from hushcast.core.db import create_database
    from hushcast.core.migrate import upgrade
    from hushcast.orgs.service import create_key
    from hushcast.telegram.fake_config import FakeTelegramConfig
    from hushcast.telegram.testing import FakeTelegramThread

    _install_stop_signals()
    from hushcast.cli import exit_if_port_taken

    # Before anything is created: a busy port is one line, not a half-started demo.
    exit_if_port_taken("127.0.0.1", port, "The demo's API", "--port; make demo PORT=...")
    exit_if_port_taken(
        "127.0.0.1",
        telegram_port,
        "The demo's fake Telegram server",
        "--telegram-port; make demo TELEGRAM_PORT=...",
    )
    db_path = _fresh_db_path(var_dir).resolve()
    database_url = f"sqlite:///{db_path}"
    base_url = f"http://127.0.0.1:{port}"

    fake = FakeTelegramThread(FakeTelegramConfig(accept_any_token=True), port=telegram_port)
    try:
        telegram_url = fake.start()
    except OSError as exc:
        err.print(f"[red]Cannot start the fake Telegram server on port {telegram_port}: {exc}")
        raise typer.Exit(1) from None

    # The service (and anything reading settings from the environment) uses the demo DB.
    os.environ["HUSHCAST_DATABASE_URL"] = database_url
    os.environ["HUSHCAST_TELEGRAM_API_URL"] = telegram_url
    os.environ["HUSHCAST_PUBLIC_URL"] = base_url
    get_settings.cache_clear()
    settings = Settings(
        database_url=database_url, telegram_api_url=telegram_url, public_url=base_url
    )

    service: _Service | None = None
    client: ApiClient | None = None
    code = 0
    try:
        db = create_database(database_url, pool_size=2)
        upgrade(db)
        with db.transaction() as conn:
            _, key = create_key(conn, "demo", "demo key")
        db.dispose()
        err.print(f"Fresh database [bold]{db_path}[/bold].")

        service = _Service(settings, port)
        service.start()
        client = ApiClient(base_url, key)
        app_uuid, _, bid = _setup(client, fake, subscribers, rate)
        _print_intro(base_url, telegram_url, db_path, key, app_uuid, bid)

        final = follow_broadcast(client, bid, console=err)
        out.print(counters_table(final, title=f"Broadcast {bid}: {final.get('status')}"))
        if not exit_when_done:
            err.print(
                f"The service keeps running at [bold cyan]{base_url}/ui[/bold cyan]. "
                "Press [bold]Ctrl-C[/bold] to stop."
            )
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        err.print("\nStopping…")
    except (ApiFailure, DemoError) as exc:
        err.print(f"[red]Demo failed: {escape(str(exc))}[/red]")
        code = 1
    finally:
        if client is not None:
            client.close()
        if service is not None:
            service.stop()
        fake.stop()
    if code:
        raise typer.Exit(code)
    err.print("Demo stopped.")

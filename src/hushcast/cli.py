"""The ``hushcast`` command."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hushcast.cli_help import conventional_help
from hushcast.core.collector import settle_after_start_up
from hushcast.core.config import get_settings
from hushcast.core.db import Database, create_database

conventional_help()
app = typer.Typer(help="Hushcast: Telegram broadcasts and transactional messages with mute.")
keys_app = typer.Typer(help="API keys.")
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"hushcast {version('hushcast')}\n")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Hushcast: Telegram broadcasts and transactional messages with mute."""


def _db(*, announce: bool = False, must_exist: bool = False) -> Database:
    """The configured database. ``announce``: say which one (a relative SQLite default
    depends on the directory the command runs in). ``must_exist``: a database without our
    tables is a one-line error, not a traceback, and no empty SQLite file is left behind."""
    url = get_settings().database_url
    if announce:
        err.print(f"Using {database_note(url)}", soft_wrap=True)
    path = _sqlite_path(url)
    if must_exist and path is not None and not path.exists():
        _no_tables(url)
    if path is not None and not must_exist:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = create_database(url, pool_size=2)
    if must_exist:
        from sqlalchemy import inspect

        if not inspect(db.engine).has_table("api_keys"):
            db.dispose()
            _no_tables(url)
    return db


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or ":memory:" in url:
        return None
    return Path(url[len(prefix) :].split("?")[0]).resolve()


def _no_tables(url: str) -> None:
    err.print(
        f"[red]Error: {database_note(url)} has no Hushcast tables: run `hushcast migrate` "
        "(or `hushcast serve`) first, or set HUSHCAST_DATABASE_URL.[/red]"
    )
    raise typer.Exit(1)


def _migrate(db: Database) -> None:
    from hushcast.core.migrate import upgrade

    upgrade(db)


@app.command()
def migrate() -> None:
    """Applies pending database migrations."""
    db = _db(announce=True)
    _migrate(db)
    err.print("[green]Database is up to date.[/green]")
    db.dispose()


def port_taken(host: str, port: int) -> bool:
    """Whether another process listens on host:port (checked before start-up so the user
    gets one line instead of uvicorn's traceback-like log)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def exit_if_port_taken(host: str, port: int, what: str, flag: str = "--port") -> None:
    if port and port_taken(host, port):
        err.print(
            f"[red]Error: {what} cannot listen on {host}:{port}: the port is in use "
            f"(another hushcast?). Stop that process or pick another port ({flag}).[/red]"
        )
        raise typer.Exit(1)


def database_note(url: str) -> str:
    """Where a SQLite database really is (a relative default depends on the directory)."""
    path = _sqlite_path(url)
    if path is not None:
        return f"SQLite database {path}"
    return "database " + url.split("@")[-1]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on", metavar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", metavar="PORT")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the delivery worker")
    ] = False,
    no_webhooks: Annotated[
        bool,
        typer.Option(
            "--no-webhooks",
            help="Do not POST webhook events from this process (another API process, or "
            "a worker started with --webhooks, must)",
        ),
    ] = False,
    fake_telegram: Annotated[
        bool,
        typer.Option(
            "--fake-telegram",
            help="Send through a fake Telegram Bot API started in this process (any bot "
            "token works; nothing reaches Telegram): for a first try and demos",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="Log level", metavar="LEVEL")] = "info",
) -> None:
    """Runs the HTTP API (and, unless --no-worker, the delivery worker)."""
    import uvicorn

    from hushcast.app import create_app
    from hushcast.orgs.initial_key import hand_over
    from hushcast.orgs.service import bootstrap_default_org

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    exit_if_port_taken(host, port, "Hushcast")
    settings = get_settings()
    err.print(f"Using {database_note(settings.database_url)}", soft_wrap=True)
    fake = None
    if fake_telegram:
        from hushcast.telegram.fake_config import FakeTelegramConfig
        from hushcast.telegram.testing import FakeTelegramThread

        fake = FakeTelegramThread(FakeTelegramConfig(accept_any_token=True))
        settings = settings.model_copy(update={"telegram_api_url": fake.start()})
        err.print(f"Fake Telegram Bot API on {fake.base_url} (any bot token is accepted)")
    db = _db()
    _migrate(db)
    with db.transaction() as conn:
        key = bootstrap_default_org(conn)
    db.dispose()
    if key:
        # Never to stderr/stdout when they are not a terminal: they end up in log storage.
        written = hand_over(key, Path(settings.initial_key_file), sys.stdout)
        if written is not None:
            logging.getLogger("hushcast").warning(
                "First start: created organisation 'default'; its API key was written to %s "
                "(readable by this user only): store it safely, then delete the file",
                written,
            )
    application = create_app(settings, run_worker=not no_worker, run_webhooks=not no_webhooks)
    # Start-up objects never become garbage: keep the cyclic GC's full collections
    # (tens of ms, felt as latency spikes) to what requests create, and its young
    # collections rare (core/collector.py).
    settle_after_start_up()
    server = _announcing_server(
        uvicorn.Config(application, host=host, port=port, log_level=log_level, access_log=False)
    )
    try:
        server.run()
    finally:
        if fake is not None:
            fake.stop()
    if not server.started:
        raise typer.Exit(1)


def _announcing_server(config: Any) -> Any:
    """uvicorn's server that says "listening" once its socket is bound, not before."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                err.print(
                    f"Hushcast listening on [bold]http://{config.host}:{config.port}[/bold]  "
                    "(API docs: /docs, dashboard: /ui)",
                    soft_wrap=True,
                )

    return Server(config)


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks",
            help="Also POST webhook events from this worker (by default the API "
            "processes do, so that receivers never take time from sending)",
        ),
    ] = False,
) -> None:
    """Runs the delivery worker alone (several may share one PostgreSQL)."""
    from hushcast.delivery.process import hold_stop_signals_until_started

    hold_stop_signals_until_started()
    import asyncio

    from hushcast.delivery.worker import run_worker_process

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    err.print(f"Using {database_note(get_settings().database_url)}", soft_wrap=True)
    try:
        # uvloop (a uvicorn[standard] dependency) cuts the event loop's share of
        # each send; the worker's throughput is mostly event-loop work.
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        asyncio.run(run_worker_process(get_settings(), webhooks=webhooks))
    else:
        uvloop.run(run_worker_process(get_settings(), webhooks=webhooks))


@app.command(
    "fake-telegram",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def fake_telegram(ctx: typer.Context) -> None:
    """Runs the fake Telegram Bot API server, for tests, demos and your own CI (--help: every
    option and the control API)."""
    from hushcast.telegram.fake_cli import main as fake_main

    # The same parser as `python -m hushcast.telegram.fake_server`: same options, defaults.
    fake_main(list(ctx.args), prog="hushcast fake-telegram")


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="Organisation name (created if needed)")],
    name: Annotated[str | None, typer.Option(help="A label for the key")] = None,
) -> None:
    """Creates an API key and prints it alone on stdout."""
    from hushcast.orgs.service import create_key

    db = _db(announce=True)
    _migrate(db)
    with db.transaction() as conn:
        _, key = create_key(conn, org, name)
    db.dispose()
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead")] = False,
) -> None:
    """Lists API keys (their prefixes; keys themselves are not stored)."""
    from hushcast.orgs import repository

    db = _db(must_exist=True)
    with db.read() as conn:
        rows = repository.list_keys(conn)
    db.dispose()
    if as_json:
        import json

        items = [
            {
                "id": r.id,
                "organisation": r.org_name,
                "name": r.name,
                "prefix": r.key_prefix,
                "createdAt": str(r.created_at)[:19],
                "revokedAt": str(r.revoked_at)[:19] if r.revoked_at else None,
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(items, indent=2) + "\n")
        return
    table = Table("id", "organisation", "name", "prefix", "created", "revoked")
    for r in rows:
        table.add_row(
            str(r.id),
            r.org_name,
            r.name or "",
            r.key_prefix + "…",
            str(r.created_at)[:19],
            str(r.revoked_at)[:19] if r.revoked_at else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revokes a key: requests with it answer 401 from now on."""
    from hushcast.core.timeutil import utcnow
    from hushcast.orgs import repository

    db = _db(must_exist=True)
    with db.transaction() as conn:
        done = repository.revoke_key(conn, key_id, utcnow())
    db.dispose()
    if not done:
        err.print(f"[red]No active key with id {key_id}.[/red]")
        raise typer.Exit(1)
    err.print(f"Key {key_id} revoked.")


# Commands that drive a running service through its HTTP API, and the demo.
from hushcast.cli_client import register as _register_client_commands  # noqa: E402
from hushcast.cli_resources import register as _register_resource_commands  # noqa: E402
from hushcast.demo import demo as _demo  # noqa: E402

_register_client_commands(app)
_register_resource_commands(app)
app.command("demo")(_demo)


if __name__ == "__main__":
    app()

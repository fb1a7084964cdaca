"""The fake Telegram server's command line: ``python -m hushcast.telegram.fake_server`` and
``hushcast fake-telegram`` share one parser (:func:`build_arg_parser`), and
:func:`run_fake_server` serves the fake until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
from collections.abc import Callable
from typing import Any

from hushcast.telegram.fake_config import _TOKEN_SHAPE, FAULT_KINDS, FakeTelegramConfig
from hushcast.telegram.fake_server import FakeTelegramServer

__all__ = ["build_arg_parser", "config_from_args", "main", "run_fake_server"]


def run_fake_server(
    host: str = "127.0.0.1", port: int = 8081, config: FakeTelegramConfig | None = None
) -> None:
    """Serve the fake Bot API until interrupted (blocking). Uses uvloop when installed."""
    server = FakeTelegramServer(config)
    server.freeze_gc_every = 5000

    async def serve() -> None:
        url = await server.start(host, port)
        gc.freeze()  # start-up objects: never garbage, never scanned again
        print(
            f"Fake Telegram Bot API listening on {url}  (control API: {url}/_fake/stats)",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is optional
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve())


def _parse_bot(value: str) -> tuple[str, str | None]:
    token, _, username = value.partition("=")
    if not _TOKEN_SHAPE.match(token):
        raise argparse.ArgumentTypeError("bot token must look like <digits>:<secret>")
    return token, username or None


CONTROL_API_HELP = """\
Bot API: /bot<TOKEN>/<method> (and /bot<TOKEN>/test/<method>), GET or POST, JSON or form:
  getMe, sendMessage, sendPhoto, getUpdates, setWebhook, deleteWebhook, getWebhookInfo.

Control API (JSON), for your tests:
  GET    /_fake/messages[?chat_id=ID]   messages accepted, oldest first
  DELETE /_fake/messages                forget messages, counters and rate windows
  GET    /_fake/stats                   {"accepted", "rate_limited", "rate_limited_pause_ms", "faults", "requests", "in_flight"}
  GET    /_fake/config                  the configuration below, as JSON
  PATCH  /_fake/config                  change part of it, e.g. {"fault_rate": 0.1},
                                        {"blocked": ["42"]} (403 for chat 42), "deactivated",
                                        "missing" (400 chat not found), "migrated",
                                        "fault_schedule": [{"after": 10, "count": 3, "kind": "502"}]
  POST   /_fake/bots                    {"token", "id", "username", "first_name"?}: a bot
  POST   /_fake/updates                 {"token", "update": {...}}: queue an update for getUpdates
                                        (or push it to the webhook set with setWebhook)
  POST   /_fake/users/{chat_id}/start   a user: {"payload"?} /start; also /send {"text"},
                                        /block, /unblock, /callback {"data"}; add "token"
                                        when the fake knows several bots
"""


def build_arg_parser(
    prog: str = "python -m hushcast.telegram.fake_server",
) -> argparse.ArgumentParser:
    """``hushcast fake-telegram`` and ``python -m hushcast.telegram.fake_server``: one parser,
    so both have the same options and defaults."""
    defaults = FakeTelegramConfig()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fake Telegram Bot API server with Telegram's flood limits and fault "
        "injection, for tests, demos and your own CI (docs/fake-telegram.md).",
        epilog=CONTROL_API_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (%(default)s)")
    parser.add_argument(
        "--global-rate",
        type=float,
        default=defaults.global_rate,
        help="messages/s per bot, all chats (%(default)s)",
    )
    parser.add_argument(
        "--private-chat-rate",
        type=float,
        default=defaults.private_chat_rate,
        help="messages/s to one private chat (%(default)s)",
    )
    parser.add_argument(
        "--group-per-minute",
        type=float,
        default=defaults.group_per_minute,
        help="messages per minute to one group or channel (%(default)s)",
    )
    parser.add_argument(
        "--paid-rate",
        type=float,
        default=defaults.paid_rate,
        help="messages/s per bot with allow_paid_broadcast (%(default)s)",
    )
    parser.add_argument("--no-limits", action="store_true", help="disable the flood limits")
    parser.add_argument(
        "--retry-after", type=int, default=None, help="fixed retry_after (s) of every 429"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added before answering a send (0)"
    )
    parser.add_argument(
        "--arrival-jitter-ms", type=float, default=0.0, help="sends counted up to this late (0)"
    )
    parser.add_argument(
        "--realistic", action="store_true", help="429s answer retry_after of 5-30 s"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of sends (0..1) that answer a fault instead (0)",
    )
    parser.add_argument(
        "--fault-kind",
        choices=FAULT_KINDS,
        default="500",
        help="the fault: HTTP 500, 502, a timeout or a dropped connection (%(default)s)",
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=defaults.timeout_s,
        help="how long a timeout fault waits (%(default)s)",
    )
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--accept-any-token",
        dest="accept_any_token",
        action="store_true",
        default=True,
        help="accept any <digits>:<secret> bot token, as its own bot (the default)",
    )
    tokens.add_argument(
        "--strict-tokens",
        dest="accept_any_token",
        action="store_false",
        help="only bots given with --bot or POST /_fake/bots; others get 401",
    )
    parser.add_argument(
        "--bot",
        action="append",
        type=_parse_bot,
        default=[],
        metavar="TOKEN[=USERNAME]",
        help="register a bot (repeatable)",
    )
    for action in parser._actions:  # "--latency-ms N", not "--latency-ms LATENCY_MS"
        if action.type in (int, float) and action.dest != "port":
            action.metavar = "N"
    return parser


def config_from_args(args: argparse.Namespace) -> FakeTelegramConfig:
    tokens: dict[str, dict[str, Any]] = {}
    for token, username in args.bot:
        tokens[token] = {"id": int(token.split(":", 1)[0]), "username": username}
    return FakeTelegramConfig(
        global_rate=args.global_rate,
        private_chat_rate=args.private_chat_rate,
        group_per_minute=args.group_per_minute,
        paid_rate=args.paid_rate,
        enforce_limits=not args.no_limits,
        retry_after=args.retry_after,
        latency_ms=args.latency_ms,
        arrival_jitter_ms=args.arrival_jitter_ms,
        realistic=args.realistic,
        fault_rate=args.fault_rate,
        fault_kind=args.fault_kind,
        timeout_s=args.timeout_s,
        accept_any_token=args.accept_any_token,
        tokens=tokens,
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = build_arg_parser(prog) if prog else build_arg_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    try:
        run_fake_server(args.host, args.port, config)
    except OSError as exc:
        # A busy port: one line, not a traceback.
        raise SystemExit(
            f"error: the fake Telegram server cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}"
        ) from None

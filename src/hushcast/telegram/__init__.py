"""Telegram Bot API access: a small HTTP client and a fake Bot API server."""

from hushcast.telegram.client import (
    BotInfo,
    HttpTelegramClient,
    InvalidBotToken,
    SendResult,
    TelegramClient,
    TelegramUnavailable,
)

__all__ = [
    "BotInfo",
    "HttpTelegramClient",
    "InvalidBotToken",
    "SendResult",
    "TelegramClient",
    "TelegramUnavailable",
]

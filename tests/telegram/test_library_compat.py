"""A real client library (aiogram 3) talks to the fake server and maps its answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from hushcast.telegram.fake_config import FakeTelegramConfig
from hushcast.telegram.fake_server import FakeTelegramServer

TOKEN = "6060606:AAaiogramCompatToken_123"
BOT_ID = 6060606


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer(
        FakeTelegramConfig(tokens={TOKEN: {"id": BOT_ID, "username": "aiogram_compat_bot"}})
    )
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def bot(fake: FakeTelegramServer) -> AsyncIterator[Bot]:
    assert fake.base_url
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    aiogram_bot = Bot(TOKEN, session=session)
    yield aiogram_bot
    await aiogram_bot.session.close()


@pytest.mark.asyncio
async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == BOT_ID
    assert me.is_bot is True
    assert me.username == "aiogram_compat_bot"


@pytest.mark.asyncio
async def test_send_message_parses_into_message(bot: Bot, fake: FakeTelegramServer) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Go", url="https://example.com")]]
    )
    msg = await bot.send_message(chat_id=424242, text="Hello from aiogram", reply_markup=markup)
    assert isinstance(msg, Message)
    assert msg.text == "Hello from aiogram"
    assert msg.chat.id == 424242
    assert msg.chat.type == "private"
    assert msg.message_id == 1
    assert msg.from_user is not None and msg.from_user.id == BOT_ID
    assert msg.reply_markup is not None
    assert msg.reply_markup.inline_keyboard[0][0].url == "https://example.com"
    [rec] = fake.messages
    assert rec["chat_id"] == "424242"
    assert rec["reply_markup"] == {
        "inline_keyboard": [[{"text": "Go", "url": "https://example.com"}]]
    }


@pytest.mark.asyncio
async def test_send_photo_parses(bot: Bot) -> None:
    msg = await bot.send_photo(chat_id=-100123, photo="https://example.com/cat.jpg", caption="cat")
    assert msg.photo and msg.photo[-1].file_id
    assert msg.caption == "cat"
    assert msg.chat.type == "supergroup"


@pytest.mark.asyncio
async def test_rate_limit_raises_retry_after(bot: Bot, fake: FakeTelegramServer) -> None:
    fake.configure(global_rate=30)
    for i in range(30):
        await bot.send_message(chat_id=10_000 + i, text="x")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(chat_id=20_000, text="x")
    assert info.value.retry_after == 1
    fake.configure(retry_after=42)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(chat_id=20_001, text="x")
    assert info.value.retry_after == 42


@pytest.mark.asyncio
async def test_blocked_and_deactivated_raise_forbidden(bot: Bot, fake: FakeTelegramServer) -> None:
    fake.configure(blocked={"501"}, deactivated={"502"})
    with pytest.raises(TelegramForbiddenError) as info:
        await bot.send_message(chat_id=501, text="x")
    assert "bot was blocked by the user" in info.value.message
    with pytest.raises(TelegramForbiddenError) as info:
        await bot.send_message(chat_id=502, text="x")
    assert "user is deactivated" in info.value.message


@pytest.mark.asyncio
async def test_migration_raises_migrate_to_chat(bot: Bot, fake: FakeTelegramServer) -> None:
    fake.configure(migrated={"-777": -1001234567890})
    with pytest.raises(TelegramMigrateToChat) as info:
        await bot.send_message(chat_id=-777, text="x")
    assert info.value.migrate_to_chat_id == -1001234567890


@pytest.mark.asyncio
async def test_bad_request_and_server_error(bot: Bot, fake: FakeTelegramServer) -> None:
    fake.configure(missing={"503"})
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_message(chat_id=503, text="x")
    assert info.value.message == "Bad Request: chat not found"
    fake.configure(fault_rate=1.0, fault_kind="500")
    with pytest.raises(TelegramServerError):
        await bot.send_message(chat_id=504, text="x")


@pytest.mark.asyncio
async def test_unknown_token_raises_unauthorized(fake: FakeTelegramServer) -> None:
    assert fake.base_url
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    stranger = Bot("1:AAunknownTokenValue", session=session)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await session.close()

"""The service under test: settings, API keys, bots on the fake Telegram, the live service."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

import httpx

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.orgs.service import create_key


def base_settings(db_url: str, fake_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        telegram_api_url=fake_url,
        telegram_timeout_s=5.0,
        rate_limit_per_key=100000,
        public_url="http://testserver",
    )


def make_key(db: Database, org: str) -> str:
    with db.transaction() as conn:
        _, key = create_key(conn, org)
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


_bot_counter = iter(range(1000, 10**6))


def new_bot_token(fake: Any, username: str | None = None) -> str:
    bot_id = 7_000_000_000 + next(_bot_counter)
    token = f"{bot_id}:AAH{uuid.uuid4().hex}"
    fake.register_bot(token, bot_id, username or f"test{bot_id}_bot")
    return token


class LiveService:
    """The real service (API + in-process worker) under uvicorn on a free port."""

    def __init__(self, settings: Settings, db: Database, api_key: str) -> None:
        import uvicorn

        self.app = create_app(settings, db=db, run_worker=True, run_webhooks=True)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)


_bot_ids = iter(range(10**6))


def new_bot(fake: Any) -> str:
    bot_id = 8_100_000_000 + os.getpid() % 1000 * 1000 + next(_bot_ids)
    token = f"{bot_id}:AAR{uuid.uuid4().hex}"
    fake.register_bot(token, bot_id, f"rel{bot_id}_bot")
    return token

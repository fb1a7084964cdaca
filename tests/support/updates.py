"""Bot updates in the tests: simulated Telegram users (the fake's control API, over HTTP),
a relay endpoint that can be taken down, and reading the stored updates."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database
from hushcast.mute.models import mutes
from hushcast.updates.models import bot_updates, update_settings
from hushcast.updates.repository import active_apps
from hushcast.updates.runner import UpdatesRunner
from tests.support.broadcasts import app_id


def user(fake: Any, chat_id: int | str, action: str, bot_token: str, **body: Any) -> dict[str, Any]:
    """A simulated user's action (send, start, block, unblock, callback) on the fake."""
    r = httpx.post(
        f"{fake.base_url}/_fake/users/{chat_id}/{action}",
        json={"token": bot_token, **body},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    update: dict[str, Any] = r.json()["update"]
    return update


def bot_call(fake: Any, bot_token: str, method: str, **params: Any) -> Any:
    r = httpx.post(f"{fake.base_url}/bot{bot_token}/{method}", json=params, timeout=10)
    return r.json()


def bot_token_of(db: Database, app_uuid: str) -> str:
    from hushcast.bots.models import apps

    with db.read() as conn:
        return str(conn.execute(select(apps.c.bot_token).where(apps.c.uuid == app_uuid)).scalar())


def stored_updates(db: Database, app_uuid: str) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(bot_updates)
                .where(bot_updates.c.app_id == app_id(db, app_uuid))
                .order_by(bot_updates.c.update_id)
            ).all()
        )


def update_settings_row(db: Database, app_uuid: str) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(update_settings).where(update_settings.c.app_id == app_id(db, app_uuid))
        ).first()


def token_state(db: Database, app_uuid: str, token: str) -> Any:
    """The token row joined to its contact, or None."""
    with db.read() as conn:
        return conn.execute(
            select(
                app_tokens.c.active,
                app_tokens.c.deactivation_reason,
                app_tokens.c.contact_id,
                contacts.c.first_name,
                contacts.c.last_name,
                contacts.c.fields,
                contacts.c.external_customer_id,
                contacts.c.email,
            )
            .join(contacts, contacts.c.id == app_tokens.c.contact_id)
            .where(app_tokens.c.app_id == app_id(db, app_uuid), app_tokens.c.token == token)
        ).first()


def muted_until(db: Database, app_uuid: str, token: str) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(mutes.c.muted_until).where(
                mutes.c.app_id == app_id(db, app_uuid), mutes.c.token == token
            )
        ).scalar()


HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_on(client: TestClient, app_uuid: str, **extra: Any) -> dict[str, Any]:
    r = client.put(f"/v1/apps/{app_uuid}/updates", json={"mode": "webhook", **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def secret_of(fake: Any, db: Database, app_uuid: str) -> str:
    """The secret_token Telegram (the fake) was given with setWebhook."""
    info = bot_call(fake, bot_token_of(db, app_uuid), "getWebhookInfo")["result"]
    assert info["url"].endswith(f"/telegram/webhook/{app_uuid}")
    bot_id = int(bot_token_of(db, app_uuid).split(":")[0])
    secret: str = fake.server.updates.secrets[bot_id]
    return secret


def post_update(client: TestClient, app_uuid: str, secret: str | None, update: Any) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return client.post(f"/telegram/webhook/{app_uuid}", content=body, headers=headers)


def start_update(update_id: int, chat_id: int, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann", "username": "ann"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "date": 1,
            "text": text,
        },
    }


def apply_stored(db: Database, settings: Any, secrets: tuple[str, ...] = ("unused",)) -> int:
    """What the worker does after intake: apply the stored updates, in order."""
    runner = UpdatesRunner(db, settings, "test-worker", lambda: secrets)
    total = 0
    with db.read() as conn:
        ids = active_apps(conn)
    for bot_app in ids:
        total += runner.apply_pending(bot_app)
    return total


class RelayEndpoint:
    """The customer's own bot: records every POST (raw body and secret header); answers
    503 while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.hang_s = 0.0  # answer this late (a slow or stuck endpoint)
        self.bodies: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.refused = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if endpoint.hang_s:
                    time.sleep(endpoint.hang_s)
                with endpoint.lock:
                    if endpoint.down:
                        endpoint.refused += 1
                        status = 503
                    else:
                        endpoint.bodies.append(json.loads(raw))
                        endpoint.secrets.append(self.headers.get("X-Telegram-Bot-Api-Secret-Token"))
                        status = 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (a timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/relay"

    def update_ids(self) -> list[int]:
        with self.lock:
            return [int(b["update_id"]) for b in self.bodies]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

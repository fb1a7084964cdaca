"""The fake Telegram server's updates: webhooks with ``secret_token``, pushing updates to
the webhook (with retries, as Telegram does) or serving them to ``getUpdates``, and
simulated users.

Control API (JSON), each producing the updates Telegram would send:

* ``POST /_fake/users/{chat_id}/send`` ``{"text", "token"?}`` a private ``message``;
* ``POST /_fake/users/{chat_id}/start`` ``{"payload"?, "token"?}`` ``/start [payload]``;
* ``POST /_fake/users/{chat_id}/block`` / ``unblock`` ``{"token"?}`` ``my_chat_member``
  (member -> kicked, kicked -> member); a blocked chat also answers sends with 403.
* ``POST /_fake/users/{chat_id}/callback`` ``{"data", "token"?}`` a ``callback_query``.

``token`` (the bot's) may be left out when the fake knows exactly one bot (registered,
or the one that called setWebhook / deleteWebhook). Optional user
fields: ``first_name``, ``last_name``, ``username``, ``language_code``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from hushcast.telegram.fake_server import FakeTelegramServer

# Telegram retries a failing webhook with growing pauses; the fake keeps them short.
PUSH_RETRY_S = (0.05, 0.1, 0.2, 0.5, 1.0)
_JSON_HEADERS = {"Content-Type": "application/json"}


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _ctl_error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "description": description}, status=status)


class FakeUpdates:
    """Attached to one :class:`FakeTelegramServer` (``server.updates``)."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server = server
        self.secrets: dict[int, str] = {}
        self.pushers: dict[int, asyncio.Task[None]] = {}
        self.pushed: list[dict[str, Any]] = []  # (bot id, update id, status) of each push
        self._message_ids: dict[int, int] = {}
        # Tokens of the bots that configured their updates here (setWebhook, deleteWebhook):
        # with --accept-any-token the fake has no list of bots to pick one from.
        self.known_tokens: dict[int, str] = {}
        self.allowed: dict[int, list[str]] = {}
        self.last_error: dict[int, tuple[int, str]] = {}  # bot id -> (unix time, message)

    # -- wiring ------------------------------------------------------------------------------

    def methods(self) -> dict[str, Any]:
        return {
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
        }

    def install(self, router: web.UrlDispatcher) -> None:
        router.add_post("/_fake/users/{chat_id}/{action}", self.ctl_user)

    def on_update(self, bot_id: int) -> None:
        """An update was queued: push it if the bot has a webhook."""
        state = self.server._state(bot_id)
        if state.webhook_url:
            self._ensure_pusher(bot_id)

    async def close(self) -> None:
        for task in self.pushers.values():
            task.cancel()
        await asyncio.gather(*self.pushers.values(), return_exceptions=True)
        self.pushers.clear()

    # -- Bot API -----------------------------------------------------------------------------

    async def _config_latency(self) -> None:
        latency = self.server.config.config_latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)

    async def set_webhook(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        self.known_tokens[bot["id"]] = request.match_info["token"]
        await self._config_latency()
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and (
            not isinstance(secret, str)
            or not 1 <= len(secret) <= 256
            or not all(c.isalnum() or c in "_-" for c in secret)
        ):
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: secret token contains unallowed characters",
                },
                status=400,
            )
        if url and not url.startswith(("http://", "https://")):
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: bad webhook: "
                    "An HTTPS URL must be provided for webhook",
                },
                status=400,
            )
        state = self.server._state(bot["id"])
        state.webhook_url = url
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed[bot["id"]] = [str(a) for a in allowed]
        if secret:
            self.secrets[bot["id"]] = secret
        else:
            self.secrets.pop(bot["id"], None)
        if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
            state.updates.clear()
        if url:
            self._ensure_pusher(bot["id"])
        return _ok(True, "Webhook was set" if url else "Webhook was deleted")

    async def delete_webhook(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        self.known_tokens[bot["id"]] = request.match_info["token"]
        await self._config_latency()
        state = self.server._state(bot["id"])
        existed = bool(state.webhook_url)
        state.webhook_url = ""
        self.secrets.pop(bot["id"], None)
        if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
            state.updates.clear()
        return _ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def get_webhook_info(
        self, request: web.Request, bot: dict[str, Any], params: dict[str, Any]
    ) -> web.StreamResponse:
        state = self.server._state(bot["id"])
        info: dict[str, Any] = {
            "url": state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(state.updates),
        }
        if bot["id"] in self.allowed:
            info["allowed_updates"] = self.allowed[bot["id"]]
        if bot["id"] in self.last_error:
            info["last_error_date"], info["last_error_message"] = self.last_error[bot["id"]]
        return _ok(info)

    # -- pushing to the webhook ----------------------------------------------------------------

    def _ensure_pusher(self, bot_id: int) -> None:
        task = self.pushers.get(bot_id)
        if task is None or task.done():
            self.pushers[bot_id] = asyncio.get_running_loop().create_task(self._push(bot_id))
        else:
            self.server._state(bot_id).update_event.set()

    async def _push(self, bot_id: int) -> None:
        state = self.server._state(bot_id)
        failures = 0
        async with aiohttp.ClientSession() as session:
            while state.webhook_url:
                if not state.updates:
                    state.update_event.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.update_event.wait(), 1.0)
                    continue
                update = state.updates[0]
                headers = dict(_JSON_HEADERS)
                secret = self.secrets.get(bot_id)
                if secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                status: int | None = None
                try:
                    async with session.post(
                        state.webhook_url,
                        data=json.dumps(update),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as resp:
                        await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError):
                    status = None
                self.pushed.append(
                    {"bot_id": bot_id, "update_id": update.get("update_id"), "status": status}
                )
                if status is not None and 200 <= status < 300:
                    # Only a 2xx confirms the update; anything else is sent again.
                    if state.updates and state.updates[0] is update:
                        state.updates.popleft()
                    failures = 0
                    continue
                self.last_error[bot_id] = (
                    int(time.time()),
                    f"Wrong response from the webhook: {status}"
                    if status is not None
                    else "Connection refused",
                )
                delay = PUSH_RETRY_S[min(failures, len(PUSH_RETRY_S) - 1)]
                failures += 1
                await asyncio.sleep(delay)

    # -- simulated users -----------------------------------------------------------------------

    def _bot_for(self, token: Any) -> tuple[str, dict[str, Any]] | None:
        if token is None:
            candidates = set(self.server.config.tokens) | set(self.known_tokens.values())
            if len(candidates) == 1:
                token = next(iter(candidates))
        if not isinstance(token, str):
            return None
        bot = self.server._resolve_token(token)
        return None if bot is None else (token, bot)

    async def ctl_user(self, request: web.Request) -> web.StreamResponse:
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError:
            return _ctl_error(400, "chat_id must be an integer")
        action = request.match_info["action"]
        data: Any = {}
        if request.can_read_body:
            try:
                data = await request.json()
            except ValueError:
                return _ctl_error(400, "invalid JSON")
        if not isinstance(data, dict):
            return _ctl_error(400, "JSON object expected")
        found = self._bot_for(data.get("token"))
        if found is None:
            return _ctl_error(404, "unknown bot token (give token when the fake has several)")
        token, bot = found
        user = {
            "id": chat_id,
            "is_bot": False,
            "first_name": str(data.get("first_name") or f"User{chat_id}"),
        }
        for key in ("last_name", "username", "language_code"):
            if isinstance(data.get(key), str):
                user[key] = data[key]
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        now = int(time.time())
        if action in ("send", "start"):
            if action == "send":
                text = data.get("text")
                if not isinstance(text, str) or not text:
                    return _ctl_error(400, "text is required")
                entities: list[dict[str, Any]] = []
            else:
                payload = data.get("payload")
                text = "/start" + (f" {payload}" if payload else "")
                entities = [{"offset": 0, "length": 6, "type": "bot_command"}]
            message: dict[str, Any] = {
                "message_id": self._next_message_id(bot["id"]),
                "from": user,
                "chat": chat,
                "date": now,
                "text": text,
            }
            if entities:
                message["entities"] = entities
            update: dict[str, Any] = {"message": message}
        elif action in ("block", "unblock"):
            old, new = ("member", "kicked") if action == "block" else ("kicked", "member")
            bot_user = self.server._bot_user(bot)
            new_member: dict[str, Any] = {"user": bot_user, "status": new}
            if new == "kicked":
                new_member["until_date"] = 0
            update = {
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": now,
                    "old_chat_member": {"user": bot_user, "status": old},
                    "new_chat_member": new_member,
                }
            }
            # Sends to a chat that blocked the bot get 403, as from Telegram.
            if action == "block":
                self.server.config.blocked.add(str(chat_id))
            else:
                self.server.config.blocked.discard(str(chat_id))
        elif action == "callback":
            update = {
                "callback_query": {
                    "id": str(now * 1000 + chat_id % 1000),
                    "from": user,
                    "chat_instance": str(chat_id),
                    "data": str(data.get("data") or ""),
                    "message": {
                        "message_id": self._next_message_id(bot["id"]),
                        "chat": chat,
                        "date": now,
                        "text": "button",
                    },
                }
            }
        else:
            return _ctl_error(404, "action must be send, start, block, unblock or callback")
        stored = self.server.inject_update(token, update)
        return web.json_response({"ok": True, "update": stored})

    def _next_message_id(self, bot_id: int) -> int:
        self._message_ids[bot_id] = self._message_ids.get(bot_id, 0) + 1
        return self._message_ids[bot_id]

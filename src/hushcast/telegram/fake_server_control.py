"""The fake Telegram server's control API (JSON) for tests: the messages it accepted, its
counters, its configuration, bots and queued updates, under ``/_fake/``. The simulated
users (``/_fake/users/...``) are in fake_server_updates.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hushcast.telegram.fake_config import _bot_info
from hushcast.telegram.fake_wire import _json

if TYPE_CHECKING:
    from hushcast.telegram.fake_server import FakeTelegramServer


class FakeControl:
    """Attached to one :class:`FakeTelegramServer` (``server.control``)."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server = server

    def install(self, router: web.UrlDispatcher) -> None:
        router.add_get("/_fake/messages", self._ctl_messages)
        router.add_delete("/_fake/messages", self._ctl_clear)
        router.add_get("/_fake/stats", self._ctl_stats)
        router.add_get("/_fake/config", self._ctl_get_config)
        router.add_patch("/_fake/config", self._ctl_patch_config)
        router.add_post("/_fake/bots", self._ctl_bots)
        router.add_post("/_fake/updates", self._ctl_updates)

    async def _ctl_messages(self, request: web.Request) -> web.StreamResponse:
        return _json(self.server.messages_for(request.query.get("chat_id")))

    async def _ctl_clear(self, request: web.Request) -> web.StreamResponse:
        self.server.clear()
        return _json({"ok": True})

    async def _ctl_stats(self, request: web.Request) -> web.StreamResponse:
        return _json(self.server.stats)

    async def _ctl_get_config(self, request: web.Request) -> web.StreamResponse:
        return _json(self.server.config.to_dict())

    async def _read_json_object(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"ok": false, "description": "invalid JSON"}') from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"ok": false, "description": "JSON object expected"}')
        return data

    async def _ctl_patch_config(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        try:
            self.server._apply_config(data)
        except ValueError as exc:
            return _json({"ok": False, "description": str(exc)}, status=400)
        return _json(self.server.config.to_dict())

    async def _ctl_bots(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            return _json({"ok": False, "description": "token is required"}, status=400)
        try:
            info = _bot_info(data, token)
        except ValueError as exc:
            return _json({"ok": False, "description": str(exc)}, status=400)
        self.server.config.tokens[token] = info
        return _json({"ok": True, "bot": info})

    async def _ctl_updates(self, request: web.Request) -> web.StreamResponse:
        data = await self._read_json_object(request)
        token = data.get("token")
        update = data.get("update")
        if not isinstance(token, str) or not isinstance(update, dict):
            return _json({"ok": False, "description": "token and update are required"}, status=400)
        try:
            stored = self.server.inject_update(token, update)
        except KeyError:
            return _json({"ok": False, "description": "unknown bot token"}, status=404)
        except (TypeError, ValueError):
            return _json({"ok": False, "description": "update_id must be an integer"}, status=400)
        return _json({"ok": True, "update": stored})

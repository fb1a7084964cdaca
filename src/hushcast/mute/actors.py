"""Who changed a mute: the ``by`` of the mute history and of mute webhooks.

A change made through the API is named by the key that made it (``apiKey:<id>``); one
made in the dashboard by ``dashboard:<id>`` (the key its session signed in with); the
dialog guard, which mutes a chat while its user talks to the bot, by ``dialog-guard``;
and the end of a timed mute, which nobody makes, by ``expiry``.
"""

from __future__ import annotations

DASHBOARD = "dashboard"
DIALOG_GUARD = "dialog-guard"
EXPIRY = "expiry"
# What a mute_events.source may hold (None: the API, named by api_key_id).
SOURCES = (DASHBOARD, DIALOG_GUARD)


def describe(source: str | None, api_key_id: int | None) -> str | None:
    """The ``by`` of one change, from what its history row stores."""
    if source == DASHBOARD:
        return DASHBOARD if api_key_id is None else f"{DASHBOARD}:{api_key_id}"
    if source is not None:
        return source
    return None if api_key_id is None else f"apiKey:{api_key_id}"

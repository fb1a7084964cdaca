"""What one Telegram update asks of Hushcast: pure functions over the update's JSON.

The service applies the effects; everything here is decided from the update alone (and the
bot's settings), so it is tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# The update kinds Hushcast reads; setWebhook / getUpdates ask for these only.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

BLOCKED_REASON = "Blocked the bot (my_chat_member: kicked)"
REMOVED_REASON = "Bot removed from the group (my_chat_member)"

# Statuses in which the bot can write to the chat.
_PRESENT = ("member", "administrator", "creator", "restricted")


@dataclass(frozen=True)
class Start:
    """/start in a private chat: register the chat (with a deep-link payload, if any)."""

    chat_id: str
    payload: str | None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Deactivate:
    chat_id: str
    reason: str


@dataclass(frozen=True)
class Reactivate:
    chat_id: str


@dataclass(frozen=True)
class RegisterGroup:
    chat_id: str
    title: str | None


@dataclass(frozen=True)
class Dialog:
    """A user wrote to the bot (message or button): the dialog guard's trigger."""

    chat_id: str


@dataclass(frozen=True)
class Migrate:
    old_chat_id: str
    new_chat_id: str


Effect = Start | Deactivate | Reactivate | RegisterGroup | Dialog | Migrate


@dataclass(frozen=True)
class Options:
    dialog_guard: bool = False
    register_groups: bool = False


@dataclass
class Decision:
    effects: list[Effect] = field(default_factory=list)


def _chat_id(value: Any) -> str | None:
    # bool is an int: a chat id of True is no chat id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 200) -> str | None:
    """A name as the database can store it: no NUL (PostgreSQL refuses it), no half
    surrogate pair (JSON may escape one; no encoder takes it)."""
    if not isinstance(value, str):
        return None
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]
    return clean or None


def _start_payload(text: str) -> tuple[bool, str | None]:
    """("/start", None), ("/start abc", "abc"), ("/start@bot abc", "abc"); else not a start."""
    head, _, rest = text.strip().partition(" ")
    command = head.split("@", 1)[0]
    if command != "/start":
        return False, None
    payload = rest.strip()
    return True, payload or None


def decide(update: Any, options: Options) -> list[Effect]:
    """The effects of one update, in the order they apply."""
    if not isinstance(update, dict):
        return []
    message = update.get("message")
    if isinstance(message, dict):
        return _message(message, options)
    edited = update.get("edited_message")
    if isinstance(edited, dict):
        chat = _obj(edited.get("chat"))
        chat_id = _chat_id(chat.get("id"))
        if chat_id and chat.get("type") == "private" and options.dialog_guard:
            return [Dialog(chat_id)]
        return []
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        chat_id = _chat_id(_obj(_obj(callback.get("message")).get("chat")).get("id"))
        if chat_id is None:
            # A button under an inline-mode message has no chat: the user's own id is
            # the private chat's id.
            chat_id = _chat_id(_obj(callback.get("from")).get("id"))
        if chat_id and int(chat_id) > 0 and options.dialog_guard:
            return [Dialog(chat_id)]
        return []
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        return _my_chat_member(member, options)
    return []


def _message(message: dict[str, Any], options: Options) -> list[Effect]:
    chat = message.get("chat")
    if not isinstance(chat, dict):
        return []
    chat_id = _chat_id(chat.get("id"))
    if chat_id is None:
        return []
    migrate_to = _chat_id(message.get("migrate_to_chat_id"))
    if migrate_to is not None:
        return [Migrate(chat_id, migrate_to)]
    if chat.get("type") != "private":
        return []
    text = message.get("text")
    if isinstance(text, str):
        is_start, payload = _start_payload(text)
        if is_start:
            # Joining is not a dialog: a new subscriber is not muted by their own /start.
            sender = _obj(message.get("from"))
            return [
                Start(
                    chat_id,
                    payload,
                    first_name=_text(sender.get("first_name")),
                    last_name=_text(sender.get("last_name")),
                    username=_text(sender.get("username")),
                    language=_text(sender.get("language_code"), 16),
                )
            ]
    return [Dialog(chat_id)] if options.dialog_guard else []


def _my_chat_member(member: dict[str, Any], options: Options) -> list[Effect]:
    chat = member.get("chat")
    new = member.get("new_chat_member")
    if not isinstance(chat, dict) or not isinstance(new, dict):
        return []
    chat_id = _chat_id(chat.get("id"))
    status = new.get("status")
    if chat_id is None or not isinstance(status, str):
        return []
    if chat.get("type") == "private":
        if status == "kicked":
            return [Deactivate(chat_id, BLOCKED_REASON)]
        if status == "member":
            return [Reactivate(chat_id)]
        return []
    if not options.register_groups:
        return []
    if status in _PRESENT:
        return [RegisterGroup(chat_id, _text(chat.get("title")))]
    if status in ("left", "kicked"):
        return [Deactivate(chat_id, REMOVED_REASON)]
    return []


def guard_until(current: datetime | None, now: datetime, seconds: int) -> datetime | None:
    """The dialog guard's new mute end, or None when the chat's mute already lasts as long
    (a longer mute set through the API is never shortened)."""
    until = now + timedelta(seconds=seconds)
    if current is not None and current >= until:
        return None
    return until


RELAY_BACKOFF_S = (1, 2, 5, 10, 30, 60, 120, 300, 600, 900)
RELAY_MAX_ATTEMPTS = 30  # about 6 hours of a failing endpoint, then the update is dropped


def relay_delay(attempts: int) -> float:
    """Seconds before the next relay try after ``attempts`` failed ones."""
    index = min(max(attempts, 1), len(RELAY_BACKOFF_S)) - 1
    return float(RELAY_BACKOFF_S[index])

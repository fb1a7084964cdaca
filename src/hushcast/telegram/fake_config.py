"""The fake Telegram server's configuration: :class:`FakeTelegramConfig` (every field can be
changed at run time, by ``PATCH /_fake/config`` or ``FakeTelegramServer.configure``) and the
parsing and validation of its values, also used for the bots registered at run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["FAULT_KINDS", "FakeTelegramConfig"]

FAULT_KINDS = ("500", "502", "timeout", "drop")

_TOKEN_SHAPE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,128}$")


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be a boolean")


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None
    if math.isnan(result):
        raise ValueError(f"{name} must be a number")
    return result


def _as_str_set(value: Any, name: str) -> set[str]:
    if isinstance(value, (str, int)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a list of chat ids")
    return {str(item) for item in value}


def _as_schedule(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("fault_schedule must be a list")
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError("fault_schedule entries must be objects")
        kind = str(item.get("kind", "500"))
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        try:
            after = int(item.get("after", 0))
            count = int(item.get("count", 1))
        except (TypeError, ValueError):
            raise ValueError("fault_schedule after/count must be integers") from None
        out.append({"after": after, "count": count, "kind": kind})
    return out


def _bot_info(value: Any, token: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("bot info must be an object")
    try:
        bot_id = int(value["id"])
    except (KeyError, TypeError, ValueError):
        match = _TOKEN_SHAPE.match(token)
        if not match:
            raise ValueError("bot info needs an integer id") from None
        bot_id = int(match.group(1))
    username = str(value.get("username") or f"bot{bot_id}_bot")
    first_name = str(value.get("first_name") or username)
    return {"id": bot_id, "username": username, "first_name": first_name}


def _normalize_field(name: str, value: Any) -> Any:
    if name in ("global_rate", "private_chat_rate", "group_per_minute", "paid_rate"):
        return _as_float(value, name)
    if name in (
        "latency_ms",
        "timeout_s",
        "max_poll_timeout_s",
        "arrival_jitter_ms",
        "config_latency_ms",
    ):
        result = _as_float(value, name)
        if result < 0:
            raise ValueError(f"{name} must be >= 0")
        return result
    if name == "fault_rate":
        result = _as_float(value, name)
        if not 0 <= result <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        return result
    if name in ("enforce_limits", "accept_any_token", "realistic", "hold_sends"):
        return _as_bool(value, name)
    if name == "retry_after":
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError("retry_after must be an integer or null")
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            raise ValueError("retry_after must be an integer or null") from None
    if name == "max_messages":
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            raise ValueError("max_messages must be an integer") from None
    if name == "fault_kind":
        kind = str(value)
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault_kind must be one of {FAULT_KINDS}")
        return kind
    if name == "fault_schedule":
        return _as_schedule(value)
    if name in ("blocked", "deactivated", "missing"):
        return _as_str_set(value, name)
    if name == "migrated":
        if not isinstance(value, Mapping):
            raise ValueError("migrated must be an object chat_id -> new chat id")
        try:
            return {str(k): int(v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ValueError("migrated values must be integers") from None
    if name == "tokens":
        if not isinstance(value, Mapping):
            raise ValueError("tokens must be an object token -> bot info")
        return {str(k): _bot_info(v, str(k)) for k, v in value.items()}
    raise ValueError(f"unknown config field: {name}")


@dataclass
class FakeTelegramConfig:
    """Behaviour of the fake server. Every field can be changed at run time."""

    global_rate: float = 30.0  # msgs/s per bot across chats
    private_chat_rate: float = 1.0  # msgs/s per private chat
    group_per_minute: float = 20.0  # msgs per sliding 60 s per group chat
    paid_rate: float = 1000.0  # msgs/s per bot with allow_paid_broadcast
    enforce_limits: bool = True
    retry_after: int | None = None  # fixed retry_after for every 429 (else computed, >= 1)
    latency_ms: float = 0.0  # added before answering an accepted send
    # Added before setWebhook / deleteWebhook take effect and answer (Telegram takes from
    # a fraction of a second to seconds): two changes of a bot's updates then overlap.
    config_latency_ms: float = 0.0
    # Network jitter before Telegram's clock: each send is counted up to this much later
    # than it arrived (uniformly at random), so evenly dispatched sends arrive bunched.
    arrival_jitter_ms: float = 0.0
    # Real Telegram's 429s: retry_after of 5-30 s (uniformly at random) instead of the
    # wait the window computes (unless retry_after is fixed).
    realistic: bool = False
    # While true, accepted sends are held (their arrival stamped, rate counted) and
    # answered only once it is false again: a test fills the client's connections and
    # in-flight budget deterministically, e.g. to widen a check-to-send window.
    hold_sends: bool = False
    fault_rate: float = 0.0  # probability that a send request answers a fault
    fault_kind: str = "500"  # "500", "502", "timeout", "drop"
    timeout_s: float = 30.0  # how long a "timeout" fault sleeps before answering normally
    # [{"after": n, "count": m, "kind": k}]: send requests n .. n+m-1 (0-based) answer fault k
    fault_schedule: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    deactivated: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    migrated: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    accept_any_token: bool = False
    max_poll_timeout_s: float = 1.0  # cap for getUpdates long polling
    max_messages: int = 1_000_000  # recorded messages kept (oldest dropped first)

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _normalize_field(f.name, getattr(self, f.name)))

    def update(self, changes: Mapping[str, Any]) -> None:
        """Validate then apply a partial update (all or nothing). Raises ValueError."""
        normalized = {
            str(name): _normalize_field(str(name), value) for name, value in changes.items()
        }
        for name, value in normalized.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, set):
                value = sorted(value)
            elif isinstance(value, dict):
                value = {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()}
            elif isinstance(value, list):
                value = [dict(v) for v in value]
            out[f.name] = value
        return out

"""Prometheus metrics of delivery (served at /metrics; who may read them: core/metrics_http.py).

The other modules keep their own: ``mute/metrics.py`` (mutes), ``tracking/metrics.py`` (clicks).

No label names a tenant by default: /metrics is one document for the whole instance, so a
bot username (or app id) in a label would tell its reader every organisation's bots and
their volumes. The counters the worker increments per bot (``MESSAGES.labels(bot, outcome)``,
``TELEGRAM_429.labels(bot)``) therefore drop the bot and count per instance. An operator who
runs a single tenant and wants per-bot series sets ``HUSHCAST_METRICS_BOT_LABELS=true``:
the same increments then also go to ``hushcast_bot_messages_total{bot,outcome}`` and
``hushcast_bot_telegram_429_total{bot}``.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from hushcast.core.db import Database


class _Tee:
    """Increments the instance-wide child and the per-bot child together."""

    __slots__ = ("_children",)

    def __init__(self, *children: Any) -> None:
        self._children = children

    def inc(self, amount: float = 1) -> None:
        for child in self._children:
            child.inc(amount)


class BotCounter:
    """A counter whose callers pass the bot as the first label value.

    ``labels(bot, *values)`` answers the child of the counter without the bot label, or,
    once per-bot labels are enabled, an object incrementing that child and the per-bot one.
    """

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...]) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = labelnames
        self._total = Counter(name, documentation, labelnames)
        self._per_bot: Counter | None = None
        self._lock = threading.Lock()
        # What labels() answered, by its label values (and the bot, once per-bot series
        # are on): prometheus_client's own labels() validates and locks on every call
        # (5 us, once per send); a dictionary hit is 0.3 us. Emptied when per-bot
        # series are switched.
        self._children: dict[tuple[str, ...], Any] = {}

    @property
    def per_bot_name(self) -> str:
        return self._name.replace("hushcast_", "hushcast_bot_", 1)

    def enable_per_bot(self) -> None:
        with self._lock:
            if self._per_bot is None:
                self._per_bot = Counter(
                    self.per_bot_name,
                    self._documentation + " (per bot: names tenants' bots)",
                    ("bot", *self._labelnames),
                )
                self._children = {}

    def disable_per_bot(self) -> None:
        with self._lock:
            if self._per_bot is not None:
                REGISTRY.unregister(self._per_bot)
                self._per_bot = None
                self._children = {}

    def labels(self, *values: str, **by_name: str) -> Any:
        """``labels(bot, *others)`` or ``labels(bot=..., <other>=...)``, as prometheus_client."""
        if by_name:
            bot = by_name.pop("bot", "")
            values = tuple(by_name[name] for name in self._labelnames)
        else:
            bot, values = values[0], values[1:]
        per_bot = self._per_bot
        key = values if per_bot is None else (bot, *values)
        child = self._children.get(key)
        if child is None:
            total = self._total.labels(*values) if values else self._total
            child = total if per_bot is None else _Tee(total, per_bot.labels(bot, *values))
            self._children[key] = child
        return child


MESSAGES = BotCounter("hushcast_messages_total", "Recipients finished, by outcome", ("outcome",))
TELEGRAM_429 = BotCounter("hushcast_telegram_429_total", "429 answers received from Telegram", ())
SEND_LATENCY = Histogram(
    "hushcast_send_latency_seconds",
    "Telegram send request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RECHECKS = Counter(
    "hushcast_presend_rechecks_total",
    "Groups checked again because their pre-send check was older than the check window",
)
QUEUE_DEPTH = Gauge("hushcast_queue_depth", "Rows waiting to be sent (last seen by the API)")

BOT_COUNTERS = (MESSAGES, TELEGRAM_429)


def configure_bot_labels(enabled: bool) -> None:
    """Per-bot series on or off (HUSHCAST_METRICS_BOT_LABELS), for this process."""
    for counter in BOT_COUNTERS:
        if enabled:
            counter.enable_per_bot()
        else:
            counter.disable_per_bot()


def refresh_queue_depth(db: Database) -> None:
    """Sets QUEUE_DEPTH from the database (before a scrape: the API process sends nothing,
    so only the table knows)."""
    from hushcast.delivery.repository import queue_depth

    with db.read() as conn:
        QUEUE_DEPTH.set(queue_depth(conn))

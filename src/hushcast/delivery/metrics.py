"""Prometheus metrics of delivery (exposed at /metrics by the API)."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "hushcast_messages_total", "Recipients finished, by bot and outcome", ["bot", "outcome"]
)
TELEGRAM_429 = Counter("hushcast_telegram_429_total", "429 answers received from Telegram", ["bot"])
SEND_LATENCY = Histogram(
    "hushcast_send_latency_seconds",
    "Telegram send request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
QUEUE_DEPTH = Gauge("hushcast_queue_depth", "Rows waiting to be sent (last seen by the API)")
MUTES = Counter("hushcast_mutes_total", "Mute requests applied (per chat)", ["action"])
CLICKS = Counter("hushcast_clicks_total", "Tracked link clicks")

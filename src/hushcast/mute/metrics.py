"""Prometheus metrics of muting (served at /metrics; see core/metrics_http.py)."""

from __future__ import annotations

from prometheus_client import Counter

MUTES = Counter("hushcast_mutes_total", "Mute requests applied (per chat)", ["action"])

"""Prometheus metrics of click tracking (served at /metrics; see core/metrics_http.py)."""

from __future__ import annotations

from prometheus_client import Counter

CLICKS = Counter("hushcast_clicks_total", "Tracked link clicks")

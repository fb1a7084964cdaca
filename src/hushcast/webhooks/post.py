"""One signed POST to a receiver: no redirects, a timeout, the SSRF guard."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from hushcast.webhooks import guard, signing
from hushcast.webhooks.config import WebhookSettings


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


def new_session(cfg: WebhookSettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=100, **guard.connector_args(cfg.allow_private))
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=cfg.timeout_s),
        trust_env=False,
    )


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    secrets: list[str],
    cfg: WebhookSettings,
) -> PostResult:
    """Any 2xx is success; anything else (3xx too: redirects are not followed), a
    timeout or a refused target is a failure."""
    start = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - start) * 1000)

    try:
        guard.check_url(url, cfg.allow_private)
    except guard.UnsafeTarget as exc:
        return PostResult(False, None, 0, f"refused: {exc}")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hushcast-Webhooks/1",
        signing.HEADER: signing.sign(secrets, body),
    }
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as r:
            await r.read()
            ok = 200 <= r.status < 300
            return PostResult(ok, r.status, took(), None if ok else f"HTTP {r.status}")
    except TimeoutError:
        return PostResult(False, None, took(), f"timeout after {cfg.timeout_s:g} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return PostResult(False, None, took(), f"{type(exc).__name__}: {exc}"[:300])
    except asyncio.CancelledError:
        raise

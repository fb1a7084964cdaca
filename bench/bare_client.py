"""The baseline for the raw sending speed: a bare aiohttp loop, nothing else.

Sends ``count`` sendMessage requests (the same JSON the worker sends) to the fake
Telegram server with ``concurrency`` requests in flight, over one keep-alive session.
Run as its own process: ``python bench/bare_client.py URL BOT_TOKEN COUNT CONCURRENCY [LOOP]``,
LOOP ``uvloop`` (the default: the loop ``hushcast worker`` runs on) or ``asyncio``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def main(url: str, bot_token: str, count: int, concurrency: int) -> None:
    endpoint = f"{url}/bot{bot_token}/sendMessage"
    next_index = 0
    ok = 0

    async def loop(session: aiohttp.ClientSession) -> None:
        nonlocal next_index, ok
        while next_index < count:
            i = next_index
            next_index += 1
            # The worker sends raw runs in paid mode, so its payload has this flag too.
            payload = {
                "chat_id": str(9_000_000_000 + i),
                "text": f"Hello {i}",
                "allow_paid_broadcast": True,
            }
            async with session.post(endpoint, json=payload) as resp:
                body = await resp.read()
                if resp.status == 200 and json.loads(body).get("ok"):
                    ok += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(loop(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    print(json.dumps({"sent": ok, "elapsed_s": elapsed, "msgs_per_s": ok / elapsed}))


if __name__ == "__main__":
    loop = sys.argv[5] if len(sys.argv) > 5 else "uvloop"
    coro = main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if loop == "uvloop":
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)

"""The admin commands: migrate, keys create / list / revoke (real database, real processes)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import create_database
from tests.support.processes import free_port, hushcast_command


def run(args: list[str], db_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUSHCAST_DATABASE_URL=db_url)
    return subprocess.run(
        hushcast_command(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_lifecycle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run(["migrate"], url).returncode == 0
    created = run(["keys", "create", "--org", "acme", "--name", "ci"], url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("hc_") and len(key) > 40
    listing = run(["keys", "list"], url)
    assert "acme" in listing.stdout and key[:10] in listing.stdout and key not in listing.stdout

    db = create_database(url)
    settings = Settings(database_url=url, telegram_api_url="http://127.0.0.1:9")
    with TestClient(create_app(settings, db=db)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/ping", headers=auth).status_code == 200
        key_id = next(line.split()[1] for line in listing.stdout.splitlines() if "acme" in line)
        assert run(["keys", "revoke", key_id], url).returncode == 0
        assert client.get("/v1/ping", headers=auth).status_code == 401
    db.dispose()
    assert run(["keys", "revoke", "99999"], url).returncode == 1


def test_fake_telegram_command_serves_bot_api(tmp_path: Path) -> None:
    import time

    import httpx

    port = free_port()
    proc = subprocess.Popen(
        hushcast_command("fake-telegram", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/bot123:abc/getMe", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["result"]["id"] == 123
        r = httpx.post(
            f"http://127.0.0.1:{port}/bot123:abc/sendMessage", json={"chat_id": 5, "text": "hi"}
        )
        assert r.json()["ok"] is True and r.json()["result"]["text"] == "hi"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

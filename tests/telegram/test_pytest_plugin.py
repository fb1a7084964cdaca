"""The fake Telegram server as users get it: the pytest plugin (installed with the package)
and ``hushcast fake-telegram`` / ``python -m hushcast.telegram.fake_server``."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
from tests.support.processes import free_port, hushcast_command, stop
from tests.support.waiting import wait_for

USER_TEST = """
import httpx


def test_my_bot(fake_telegram):
    url = f"{fake_telegram.base_url}/bot42:anything/sendMessage"
    r = httpx.post(url, json={"chat_id": 7, "text": "Hello!"})
    assert r.json()["ok"] is True
    assert [m["text"] for m in fake_telegram.messages(7)] == ["Hello!"]


def test_each_test_gets_a_fresh_server(fake_telegram):
    assert fake_telegram.messages() == []
"""


def test_plugin_gives_users_a_fake_telegram_fixture_without_a_conftest(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def _banner_and_answer(command: list[str], port: int) -> tuple[str, dict[str, object]]:
    proc = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/_fake/stats", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30, interval=0.05)
        config = httpx.get(f"http://127.0.0.1:{port}/_fake/config").json()
    finally:
        stop(proc, 15)
    assert proc.stdout is not None
    return proc.stdout.read().decode(), config


def test_cli_and_module_are_one_thing_with_one_banner() -> None:
    cli_out, cli_config = _banner_and_answer(hushcast_command("fake-telegram"), free_port())
    mod_out, mod_config = _banner_and_answer(
        [sys.executable, "-m", "hushcast.telegram.fake_server"], free_port()
    )
    assert cli_out.count("listening on") == 1 and mod_out.count("listening on") == 1
    assert cli_config == mod_config  # the same defaults
    assert cli_config["accept_any_token"] is True


def test_help_shows_every_option_and_the_control_api() -> None:
    out = subprocess.run(
        hushcast_command("fake-telegram", "--help"), capture_output=True, text=True, check=True
    ).stdout
    for word in (
        "--fault-rate",
        "--fault-kind",
        "--latency-ms",
        "--global-rate",
        "--no-limits",
        "--bot",
        "--retry-after",
        "--strict-tokens",
        "/_fake/messages",
        "/_fake/stats",
        "/_fake/config",
        "/_fake/bots",
        "/_fake/updates",
    ):
        assert word in out, word


def test_busy_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            hushcast_command("fake-telegram", "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr

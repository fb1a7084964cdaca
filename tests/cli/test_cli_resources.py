"""``hushcast apps|messages|broadcast``, ``--version``, help labels and start-up errors,
against the real service (uvicorn + worker) and the fake Telegram server."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from hushcast.cli import app
from tests.support.processes import free_port, hushcast_command, stop
from tests.support.service import LiveService, new_bot_token

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def cli(live: LiveService, api_key: str) -> Any:
    runner = CliRunner()
    env = {"HUSHCAST_URL": live.base_url, "HUSHCAST_API_KEY": api_key, "COLUMNS": "80"}

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke


@sqlite_only
def test_apps_add_prints_the_uuid_alone_and_tables_keep_it_whole(
    cli: Any, live: LiveService, fake_telegram: Any
) -> None:
    token = new_bot_token(fake_telegram, "resources_demo_bot")
    result = cli("apps", "add", token, "--name", "Shop bot")
    assert result.exit_code == 0, result.output
    app_uuid = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", app_uuid), result.stdout
    assert live.http.get(f"/v1/apps/{app_uuid}").json()["name"] == "Shop bot"

    # 80 columns: the uuid is printed whole (it is copied into the next command).
    for args in (("apps",), ("apps", "list")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert app_uuid in result.stdout, result.stdout
    listed = json.loads(cli("apps", "--json").stdout)
    assert [a["appUuid"] for a in listed] == [app_uuid]

    # A rejected token: the API's detail on one line, exit 1, nothing on stdout.
    result = cli("apps", "add", "1:not-registered")
    assert result.exit_code == 1 and result.stdout == ""
    assert "Invalid bot token" in result.stderr


@sqlite_only
def test_messages_and_broadcast_commands(cli: Any, live: LiveService, fake_telegram: Any) -> None:
    app_uuid = cli("apps", "add", new_bot_token(fake_telegram)).stdout.strip()
    items = [{"token": str(700 + i)} for i in range(3)]
    assert live.http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items}).is_success

    result = cli("messages", "create", "--name", "Sale", "--text", "Hi %FIRSTNAME|there%")
    assert result.exit_code == 0, result.output
    message_id = result.stdout.strip()
    assert message_id.isdigit()
    shown = json.loads(cli("messages", "show", message_id, "--json").stdout)
    assert (shown["name"], shown["text"]) == ("Sale", "Hi %FIRSTNAME|there%")
    assert "Sale" in cli("messages", "list").stdout
    assert [m["id"] for m in json.loads(cli("messages", "list", "--json").stdout)] == [
        int(message_id)
    ]
    assert cli("messages", "show", "999999").exit_code == 1

    result = cli("broadcast", "send", "--app", app_uuid, "--message", message_id)
    bid = result.stdout.strip()
    assert bid.isdigit(), result.output
    # The worker may finish three sends before the pause: then the API's 409, on one line.
    result = cli("broadcast", "pause", bid, "--json")
    if result.exit_code == 0:
        assert json.loads(result.stdout)["status"] == "PAUSED"
        result = cli("broadcast", "resume", bid)
        assert result.exit_code == 0 and f"Broadcast {bid} resumed" in result.stderr
    else:
        assert result.exit_code == 1 and "Error 409" in result.stderr, result.output
    result = cli("broadcast", "show", bid, "--follow", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["status"] == "FINISHED" and view["delivered"] == 3
    listed = json.loads(cli("broadcast", "list", "--json").stdout)
    assert [b["broadcastId"] for b in listed] == [bid]  # a string, as Yespo declares it
    assert bid in cli("broadcast", "list").stdout

    # Cancelling a finished broadcast: the API's 409, one line.
    result = cli("broadcast", "cancel", bid)
    assert result.exit_code == 1 and "Error 409" in result.stderr


@sqlite_only
def test_wrong_key_gets_a_hint(cli: Any, live: LiveService) -> None:
    result = CliRunner().invoke(
        app, ["apps", "--url", live.base_url, "--key", "hc_wrong"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "Error 401" in result.stderr and "HUSHCAST_API_KEY" in result.stderr
    assert "Traceback" not in result.output


def test_version_and_conventional_help_labels() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"hushcast \d+\.\d+\.\d+\n", result.stdout)
    for args in (["mute", "--help"], ["apps", "add", "--help"], ["broadcast", "send", "--help"]):
        out = runner.invoke(app, args, env={"COLUMNS": "120"}).stdout
        assert "<str>" not in out and "<bool>" not in out and "{" not in out, out
    out = runner.invoke(app, ["mute", "--help"], env={"COLUMNS": "120"}).stdout
    assert re.search(r"Usage: \S+ mute \[OPTIONS\] TOKEN\s", out), out
    assert re.search(r"--app\s+TEXT", out) and re.search(r"--help\s+Show", out)


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            hushcast_command("serve", "--port", str(port)),
            env={"HUSHCAST_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()  # nothing created before the check


def test_commands_on_a_database_without_tables_say_so(tmp_path: Any) -> None:
    env = {"HUSHCAST_DATABASE_URL": f"sqlite:///{tmp_path}/none.db", "PATH": "/usr/bin"}
    for args in (("keys", "list"), ("keys", "revoke", "1")):
        done = subprocess.run(
            hushcast_command(*args), env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1, done.stderr
        assert "has no Hushcast tables: run `hushcast migrate`" in " ".join(done.stderr.split())
        assert str(tmp_path / "none.db") in done.stderr.replace("\n", "")
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "none.db").exists()  # nothing created by a read

    # migrate and keys create say which database they use (resolved, not ./var/...).
    done = subprocess.run(
        hushcast_command("keys", "create", "--org", "x"),
        env={"PATH": "/usr/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"Using SQLite database {tmp_path / 'var' / 'hushcast.db'}" in done.stderr.replace(
        "\n", ""
    )
    assert done.stdout.startswith("hc_")
    done = subprocess.run(
        hushcast_command("keys", "list", "--json"),
        env={"PATH": "/usr/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    (key,) = json.loads(done.stdout)
    assert key["organisation"] == "x" and done.stdout.count(key["prefix"]) == 1


def test_serve_says_listening_once_it_is(tmp_path: Any) -> None:
    port = free_port()
    proc = subprocess.Popen(
        hushcast_command("serve", "--port", str(port), "--no-worker", "--log-level", "warning"),
        env={"HUSHCAST_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "PATH": "/usr/bin"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "listening on" in line:
                break
        else:
            raise AssertionError("".join(seen))
        # The moment it says so, it answers.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        assert f"Using SQLite database {tmp_path / 's.db'}" in "".join(seen)
    finally:
        stop(proc, 15)

"""``hushcast demo`` end to end, as a real subprocess on free ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

from tests.support.processes import free_port, hushcast_command


def test_demo_runs_a_broadcast_and_exits(tmp_path: Path) -> None:
    port, telegram_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHCAST_")}
    env["COLUMNS"] = "200"
    proc = subprocess.run(
        [
            *hushcast_command(),
            "demo",
            "--subscribers",
            "50",
            "--rate",
            "200",
            "--exit-when-done",
            "--port",
            str(port),
            "--telegram-port",
            str(telegram_port),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/ui" in proc.stdout
    keys = re.findall(r"hc_[A-Za-z0-9_-]{20,}", proc.stdout)
    assert keys and len(set(keys)) == 1, proc.stdout
    assert "FINISHED" in output
    # 50 subscribers: 10 muted for long, 5 for 10 s (at 200/s usually still muted).
    delivered = re.search(r"delivered\s*│\s*(\d+)", proc.stdout)
    unavailable = re.search(r"unavailable\s*│\s*(\d+)", proc.stdout)
    assert delivered and unavailable, proc.stdout
    assert int(delivered.group(1)) + int(unavailable.group(1)) == 50
    assert 10 <= int(unavailable.group(1)) <= 15
    assert "Demo stopped." in proc.stderr
    dbs = list((tmp_path / "var").glob("demo-*.db"))
    assert len(dbs) == 1


def test_demo_fails_cleanly_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHCAST_")}
        proc = subprocess.run(
            [
                *hushcast_command(),
                "demo",
                "--subscribers",
                "5",
                "--exit-when-done",
                "--port",
                str(port),
                "--telegram-port",
                str(free_port()),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    flat = " ".join(proc.stderr.split())
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in flat, flat
    assert "make demo PORT=" in flat and "Traceback" not in flat
    assert not (tmp_path / "var").exists()  # checked before anything is created

"""The README's ten-line receiver runs, accepts a signed POST and refuses the rest."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hushcast.webhooks.signing import HEADER, sign

README = Path(__file__).resolve().parents[2] / "README.md"


def snippet() -> str:
    text = README.read_text()
    match = re.search(r"<!-- webhook-receiver -->\n```python\n(.*?)```", text, re.S)
    assert match, "README has no receiver snippet"
    return match.group(1)


def test_readme_receiver_verifies_signatures(tmp_path: Path) -> None:
    script = tmp_path / "receiver.py"
    script.write_text(snippet())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, WEBHOOK_SECRET="whsec_test", PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        body = b'{"webhookId":1,"events":[{"id":"e1","type":"test"}]}'
        deadline = time.monotonic() + 15
        while True:
            try:
                r = httpx.post(url, content=body, headers={HEADER: sign(["whsec_test"], body)})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "receiver did not start"
                time.sleep(0.05)
        assert r.status_code == 200
        # During a rotation: the old secret's v1 first, then the new one's.
        both = sign(["whsec_old", "whsec_test"], body)
        assert httpx.post(url, content=body, headers={HEADER: both}).status_code == 200
        wrong = sign(["whsec_other"], body)
        assert httpx.post(url, content=body, headers={HEADER: wrong}).status_code == 400
        stale = sign(["whsec_test"], body, timestamp=int(time.time()) - 301)
        assert httpx.post(url, content=body, headers={HEADER: stale}).status_code == 400
        altered = sign(["whsec_test"], body)
        assert httpx.post(url, content=body + b" ", headers={HEADER: altered}).status_code == 400
        assert httpx.post(url, content=body).status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.decode().count("'e1'") == 2

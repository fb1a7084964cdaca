"""The instance's secrets: the first start's API key stays out of the logs, the signing
secret warns when it lives in the database on PostgreSQL, can be rotated with a grace
period, and is created exactly once when processes start together on an empty database."""

from __future__ import annotations

import logging
import os
import pty
import select as select_fd
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

from hushcast.app import SECRET_IN_DATABASE_WARNING, create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database, create_database
from hushcast.orgs import repository as orgs_repository
from hushcast.orgs.models import settings_kv
from hushcast.orgs.service import SECRET_SETTING, authenticate, get_or_create_secret
from hushcast.web import session as sess
from tests.support.live import create_message
from tests.support.processes import free_port, hushcast_command
from tests.support.service import LiveService, new_bot_token
from tests.support.waiting import wait_for
from tests.support.web import csrf_of, mute_state, register, signed_in

# --- the first start's API key ---------------------------------------------------------------


def _serve(tmp_path: Path, stdout: Any) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    port = free_port()
    env = dict(
        os.environ,
        HUSHCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'first.db'}",
        HUSHCAST_INITIAL_KEY_FILE=str(tmp_path / "keys" / "initial-api-key"),
        HUSHCAST_TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    proc = subprocess.Popen(
        hushcast_command("serve", "--no-worker", "--port", str(port)),
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    return proc, port, env


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    return err


def _key_works(tmp_path: Path, key: str) -> bool:
    db = create_database(f"sqlite:///{tmp_path / 'first.db'}")
    try:
        with db.read() as conn:
            return authenticate(conn, key) is not None
    finally:
        db.dispose()


def test_first_start_key_goes_to_a_private_file_when_stdout_is_not_a_terminal(
    tmp_path: Path,
) -> None:
    proc, port, _ = _serve(tmp_path, subprocess.PIPE)
    try:
        _wait_healthy(proc, port)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    key_file = tmp_path / "keys" / "initial-api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert key.startswith("hc_") and _key_works(tmp_path, key)
    logs = (out + err).decode()
    assert key not in logs and key[3:] not in logs
    # One log line says where, not what.
    lines = [line for line in logs.splitlines() if str(key_file) in line]
    assert len(lines) == 1, logs
    # Written once: a second start (not the first any more) writes nothing.
    proc, port, _ = _serve(tmp_path, subprocess.PIPE)
    try:
        _wait_healthy(proc, port)
    finally:
        err = _stop(proc)
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["initial-api-key"]
    assert key_file.read_text().strip() == key
    assert "initial-api-key" not in err.decode()


def test_first_start_key_is_printed_on_a_terminal_only(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc, port, _ = _serve(tmp_path, slave)
    os.close(slave)
    shown = b""
    try:
        _wait_healthy(proc, port)
        while select_fd.select([master], [], [], 2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            if b"API key" in shown and shown.endswith(b"\n"):
                break
    finally:
        err = _stop(proc)
        os.close(master)
    text = shown.decode(errors="replace")
    key = next(w for w in text.split() if w.startswith("hc_"))
    assert _key_works(tmp_path, key)
    assert key not in err.decode()
    assert not (tmp_path / "keys").exists()


# --- the signing secret ----------------------------------------------------------------------


def test_start_up_warns_when_the_secret_is_kept_in_postgresql(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hushcast")
    with TestClient(create_app(settings.model_copy(update={"secret_key": None}), db=db)):
        pass
    warned = [r for r in caplog.records if r.getMessage() == SECRET_IN_DATABASE_WARNING]
    assert len(warned) == (0 if db.is_sqlite else 1)
    caplog.clear()
    with TestClient(create_app(settings.model_copy(update={"secret_key": "k" * 32}), db=db)):
        pass
    assert not [r for r in caplog.records if r.getMessage() == SECRET_IN_DATABASE_WARNING]


OLD, NEW = "old-secret-" + "o" * 32, "new-secret-" + "n" * 32


@pytest.fixture
def with_secrets(settings: Settings, db: Database) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(current: str, previous: str | None = None) -> TestClient:
        update = {"secret_key": current, "secret_key_previous": previous}
        c = TestClient(create_app(settings.model_copy(update=update), db=db))
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_rotation_keeps_sessions_and_csrf_tokens_for_the_grace_period(
    with_secrets: Any, api_key: str, app_uuid: str, client: TestClient
) -> None:
    register(client, app_uuid, ["6001", "6002"])
    before = with_secrets(OLD)
    csrf = signed_in(before, api_key)
    cookie = str(before.cookies[sess.SESSION_COOKIE])

    during = with_secrets(NEW, OLD)
    during.cookies.set(sess.SESSION_COOKIE, cookie, path="/ui")
    page = during.get("/ui", follow_redirects=False)
    assert page.status_code == 200
    assert csrf_of(page.text) != csrf  # new pages carry tokens signed with the new secret
    # A form rendered before the rotation still posts.
    r = during.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "6001", "duration": "forever", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert mute_state(client, app_uuid, "6001")["muted"] is True
    # New sign-ins are signed with the new secret only.
    fresh = with_secrets(NEW, OLD)
    signed_in(fresh, api_key)
    new_cookie = str(fresh.cookies[sess.SESSION_COOKIE])
    assert sess.parse([NEW], new_cookie) and not sess.parse([OLD], new_cookie)

    after = with_secrets(NEW)  # grace period over
    after.cookies.set(sess.SESSION_COOKIE, cookie, path="/ui")
    assert after.get("/ui", follow_redirects=False).status_code == 303
    after.cookies.set(sess.SESSION_COOKIE, new_cookie, path="/ui")
    r = after.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "6002", "duration": "forever", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert mute_state(client, app_uuid, "6002")["muted"] is False


def test_rotation_keeps_click_links_for_the_grace_period(
    settings: Settings, db: Database, api_key: str, fake_telegram: Any, with_secrets: Any
) -> None:
    old = settings.model_copy(
        update={"secret_key": OLD, "worker_poll_s": 0.05, "worker_lease_s": 5.0}
    )
    live = LiveService(old, db, api_key)
    try:
        r = live.http.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)})
        app_uuid = r.json()["appUuid"]
        live.http.post(
            f"/v1/apps/{app_uuid}/tokens",
            json={"tokens": [{"token": "6101", "externalCustomerId": "x"}]},
        )
        mid = create_message(
            live.http, "Sale", buttons=[{"text": "Open", "link": "https://shop.example/a"}]
        )
        r = live.http.post(
            f"/v1/message/{mid}/smartsend",
            json={"appId": app_uuid, "recipients": [{"locator": "6101"}]},
        )
        assert r.status_code == 200, r.text
        sent = wait_for(lambda: fake_telegram.messages(), timeout=30)
    finally:
        live.stop()
    link = sent[0]["reply_markup"]["inline_keyboard"][0][0]["url"]
    path = link.removeprefix("http://testserver")
    assert path.startswith("/c/")

    during = with_secrets(NEW, OLD)
    r = during.get(path, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "https://shop.example/a"
    after = with_secrets(NEW)
    assert after.get(path, follow_redirects=False).status_code == 404


# --- creating the secret: idempotent under concurrency --------------------------------------


@pytest.fixture
def no_secret_row(db: Database) -> Iterator[None]:
    """No stored secret (as on an empty database); the original row is put back after."""
    with db.transaction() as conn:
        saved = orgs_repository.get_setting(conn, SECRET_SETTING)
        conn.execute(delete(settings_kv).where(settings_kv.c.key == SECRET_SETTING))
    yield
    with db.transaction() as conn:
        conn.execute(delete(settings_kv).where(settings_kv.c.key == SECRET_SETTING))
        if saved is not None:
            conn.execute(insert(settings_kv).values(key=SECRET_SETTING, value=saved))


def test_secret_created_by_another_process_meanwhile_is_adopted(
    db: Database, no_secret_row: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process inserts between this one's read and its insert: no primary-key
    error, and both end up with the one stored secret."""
    real_get = orgs_repository.get_setting
    calls = {"n": 0}

    def get_setting(conn: Any, key: str) -> str | None:
        calls["n"] += 1
        if calls["n"] == 1:
            assert real_get(conn, key) is None
            conn.execute(insert(settings_kv).values(key=key, value="theirs"))
            return None  # what this process read before the other one committed
        return real_get(conn, key)

    monkeypatch.setattr(orgs_repository, "get_setting", get_setting)
    with db.transaction() as conn:
        assert get_or_create_secret(conn) == "theirs"


def test_processes_starting_together_on_an_empty_postgresql_agree(
    db: Database, no_secret_row: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real concurrency: four connections all read "no secret" before any inserts."""
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no read-then-insert race")
    n = 4
    barrier = threading.Barrier(n, timeout=30)
    real_get = orgs_repository.get_setting
    first_read: set[int] = set()

    def get_setting(conn: Any, key: str) -> str | None:
        value = real_get(conn, key)
        me = threading.get_ident()
        if me not in first_read:
            first_read.add(me)
            barrier.wait()  # everyone has read before anyone inserts
        return value

    monkeypatch.setattr(orgs_repository, "get_setting", get_setting)
    results: list[str] = []
    errors: list[BaseException] = []
    # Separate engines, as separate processes would have.
    dbs = [create_database(db.url, null_pool=True) for _ in range(n)]

    def start(database: Database) -> None:
        try:
            with database.transaction() as conn:
                results.append(get_or_create_secret(conn))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in dbs:
        d.dispose()
    assert not errors, errors
    assert len(results) == n and len(set(results)) == 1
    with db.read() as conn:
        stored = conn.execute(
            select(settings_kv.c.value).where(settings_kv.c.key == SECRET_SETTING)
        ).scalar_one()
    assert results[0] == stored

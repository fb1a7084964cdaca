"""The dashboard in a real browser (Playwright + the system Chromium) against the live service.

Needs the ``playwright`` Python package and ``/usr/bin/chromium`` (Debian package
``chromium``); Playwright's own browser downloads are never used. Without them the module
is skipped loudly, except under CI=true, where that is a failure. Runs on SQLite only:
the browser part does not depend on the database, and PostgreSQL would double the time.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hushcast.core.timeutil import utcnow
from tests.support.live import broadcast_done, connect_bot, create_message, register
from tests.support.service import LiveService
from tests.support.waiting import wait_for

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the fixture below
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000


def _missing() -> str | None:
    reasons = []
    if sync_playwright is None:
        reasons.append("the Python package 'playwright' is not installed")
    if not os.path.exists(CHROMIUM):
        reasons.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    return "; ".join(reasons) or None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = _missing()
    if reason:
        msg = f"browser tests cannot run: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        print("\n" + "!" * 70 + f"\n!!! SKIPPING BROWSER TESTS: {msg}\n" + "!" * 70)
        pytest.skip(msg)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(autouse=True)
def _sqlite_only(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("browser tests run on SQLite only (the UI does not depend on the database)")


@pytest.fixture
def page(browser: Browser, live: LiveService) -> Iterator[Page]:
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    problems: list[str] = []
    # Any CSP violation or script error shows up here (htmx must work under the CSP).
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    pg.problems = problems  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


def sign_in(page: Page, key: str) -> None:
    page.goto("/ui/login")
    page.fill("#api_key", key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/ui$"))
    expect(page.locator("h1")).to_have_text("Bots")


def mute_state(live: LiveService, app_uuid: str, token: str) -> dict[str, Any]:
    r = live.http.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_report_shows_the_muted_chat_and_updates_live(
    page: Page, live: LiveService, fake_telegram: Any, api_key: str
) -> None:
    fake_telegram.configure(global_rate=1000)
    app_uuid = connect_bot(live, fake_telegram, messagesPerSecond=100)
    register(live, app_uuid, ["1001", "1002", "1003", "1004"])
    r = live.http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1003"})
    assert r.status_code == 200
    sign_in(page, api_key)
    message_id = create_message(live.http, "Hello!")
    # It starts in two seconds, so the page opens before it runs.
    start = (utcnow() + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    r = live.http.post(
        "/v1/broadcast", json={"messageId": message_id, "appId": app_uuid, "startDate": start}
    )
    assert r.status_code == 200, r.text
    bid = int(r.json()["broadcastId"])
    page.goto(f"/ui/broadcasts/{bid}")
    expect(page.locator("#broadcast-status")).to_have_text("SCHEDULED")
    expect(page.locator("#report")).to_have_attribute("hx-trigger", "every 1s")
    # The page polls its fragment every second until the broadcast is finished.
    expect(page.locator("#broadcast-status")).to_have_text("FINISHED", timeout=15_000)
    wait_for(lambda: broadcast_done(live.http, bid), timeout=15)
    expect(page.locator("#report")).not_to_have_attribute("hx-trigger", re.compile("."))

    expect(page.locator('[data-counter="total"] dd')).to_have_text("4")
    expect(page.locator('[data-counter="delivered"] dd')).to_have_text("3")
    expect(page.locator('[data-counter="unavailable"] dd')).to_have_text("1")
    row = page.locator("#unavailable tbody tr")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text("1003")
    expect(cells.nth(1)).to_have_text("cust-1003")
    expect(cells.nth(2)).to_have_text("Other errors")
    expect(cells.nth(3)).to_have_text("CHANNEL_WAS_MUTED")
    expect(page.locator("svg.donut circle")).to_have_count(3)  # track + delivered + unavailable

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-page.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"

    # The CSV export works with the session alone (no API key in the browser).
    with page.expect_download() as info:
        page.locator("h2", has_text="Unavailable").get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert [
        (r["token"], r["externalCustomerId"], r["errorType"], r["errorName"]) for r in rows
    ] == [("1003", "cust-1003", "Other errors", "CHANNEL_WAS_MUTED")]
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_mute_and_unmute_from_the_subscribers_page(
    page: Page, live: LiveService, fake_telegram: Any, api_key: str
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    register(live, app_uuid, ["1001", "1002"])
    sign_in(page, api_key)
    page.get_by_role("link", name=re.compile(r"test\d+_bot")).click()
    page.wait_for_url(f"**/ui/apps/{app_uuid}")
    page.evaluate("window.__noReload = true")

    row = page.locator('tr[data-token="1001"]')
    row.locator("select[name=duration]").select_option("86400")
    expect(row.locator("input[name=custom]")).to_be_hidden()
    before = utcnow()
    row.get_by_role("button", name="Mute", exact=True).click()
    expect(row).to_have_class(re.compile("is-muted"))
    state = mute_state(live, app_uuid, "1001")
    assert state["muted"] is True
    until = datetime.fromisoformat(state["mutedUntil"][:-1])
    assert before + timedelta(hours=23, minutes=59) <= until <= utcnow() + timedelta(days=1)
    expect(row.locator("td.muted-until")).to_have_text(until.strftime("%Y-%m-%d %H:%M:%S UTC"))

    # Custom seconds: the field appears when "Custom" is picked.
    row.locator("select[name=duration]").select_option("custom")
    expect(row.locator("input[name=custom]")).to_be_visible()
    row.locator("input[name=custom]").fill("600")
    row.get_by_role("button", name="Mute", exact=True).click()
    expect(row.locator("td.muted-until")).not_to_have_text(until.strftime("%Y-%m-%d %H:%M:%S UTC"))
    until = datetime.fromisoformat(mute_state(live, app_uuid, "1001")["mutedUntil"][:-1])
    assert timedelta(seconds=580) < until - before < timedelta(seconds=620)

    row.get_by_role("button", name="Unmute").click()
    expect(row).not_to_have_class(re.compile("is-muted"))
    expect(row.get_by_role("button", name="Unmute")).to_have_count(0)
    assert mute_state(live, app_uuid, "1001") == {
        "token": "1001",
        "muted": False,
        "mutedUntil": None,
    }
    assert mute_state(live, app_uuid, "1002")["muted"] is False
    # Every change was an htmx swap: the page never reloaded.
    assert page.evaluate("window.__noReload") is True
    assert not page.problems, page.problems  # type: ignore[attr-defined]

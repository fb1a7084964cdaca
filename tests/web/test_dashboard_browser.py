"""The dashboard's screens in a real browser (Playwright + Debian's Chromium) at 1280 and
390 px, against one live service shared by the module (SQLite). Skipped loudly without
Playwright or Chromium, failed under CI=true (as tests/web/test_browser.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from hushcast.core.db import create_database
from hushcast.core.migrate import upgrade
from tests.support.live import create_message, register
from tests.support.service import LiveService, base_settings, make_key, new_bot_token

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
WIDTHS = [1280, 390]
ZONE = "Asia/Tokyo"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = []
    if sync_playwright is None:
        missing.append("the Python package 'playwright'")
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        msg = "browser tests cannot run: missing " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        print(f"\n!!! SKIPPING BROWSER TESTS: {msg}")
        pytest.skip(msg)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _session_fake: Any) -> Iterator[Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ui.db'}"
    db = create_database(url)
    upgrade(db)
    key = make_key(db, "acme")
    settings = base_settings(url, str(_session_fake.base_url)).model_copy(
        update={"worker_poll_s": 0.05, "worker_lease_s": 5.0}
    )
    live = LiveService(settings, db, key)
    live.key = key  # type: ignore[attr-defined]
    try:
        yield live
    finally:
        live.stop()
        db.dispose()


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page(request: pytest.FixtureRequest, browser: Browser, server: Any) -> Iterator[Page]:
    width = request.param
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": width, "height": 900}, timezone_id=ZONE
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    problems: list[str] = []
    # A 400 answer is what a refused form gets (the tests submit bad values on purpose).
    pg.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.problems = problems  # type: ignore[attr-defined]
    pg.width = width  # type: ignore[attr-defined]
    pg.goto("/ui/login")
    pg.fill("#api_key", server.key)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(re.compile(r"/ui$"))
    # The browser's zone was sent once and is used from then on.
    expect(pg.locator("body")).to_have_attribute("data-tz", ZONE)
    try:
        yield pg
    finally:
        context.close()


def fits(page: Page) -> None:
    """Nothing wider than the window (no sideways scrolling of the page)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.width, (page.url, width)  # type: ignore[attr-defined]


def in_view(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.width + 1  # type: ignore[attr-defined]


def test_connect_bot_set_limits_and_bulk_mute(page: Page, server: Any, _session_fake: Any) -> None:
    page.fill("#bot_token", "nonsense")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#bot_token-error")).to_have_text("Invalid bot token")
    fits(page)
    page.fill("#bot_token", new_bot_token(_session_fake))
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("h1")).to_contain_text("Settings")
    page.fill("#f-messagesPerSecond", "5000")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-messagesPerSecond-error")).to_be_visible()
    page.fill("#f-messagesPerSecond", "20")
    page.fill("#f-name", f"Shop {page.width}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()
    expect(page.locator("p.ok")).to_have_text("Saved.")
    app_uuid = page.locator("code.uuid").first.inner_text()
    assert server.http.get(f"/v1/apps/{app_uuid}").json()["messagesPerSecond"] == 20
    register(server, app_uuid, ["1001", "1002", "1003"])
    page.goto(f"/ui/apps/{app_uuid}")
    fits(page)
    in_view(page, 'tr[data-token="1001"] button:has-text("Mute")')
    page.check('tr[data-token="1001"] input[type=checkbox]')
    page.check('tr[data-token="1002"] input[type=checkbox]')
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.locator("#bulk select[name=duration]").select_option("forever")
    page.get_by_role("button", name="Mute selected", exact=True).click()
    expect(page.locator("#done")).to_have_text("Muted 2 subscribers")
    expect(page.locator("#stat-muted")).to_have_text("2")
    page.locator('[data-filter="muted"]').click()
    expect(page.locator("#subscribers tbody tr")).to_have_count(2)
    page.locator('[data-filter="active"]').click()
    expect(page.locator("#subscribers tbody tr")).to_have_count(1)
    page.goto(f"/ui/apps/{app_uuid}/history?token=1001")
    expect(page.locator("#mute-history tbody tr")).to_have_count(1)
    page.goto(f"/ui/apps/{app_uuid}/settings")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove bot").click()
    page.wait_for_url(re.compile(r"/ui$"))
    assert server.http.get(f"/v1/apps/{app_uuid}").status_code == 404
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_csv_import_with_preview_and_progress(page: Page, server: Any, _session_fake: Any) -> None:
    r = server.http.post("/v1/apps", json={"botToken": new_bot_token(_session_fake)})
    app_uuid = r.json()["appUuid"]
    page.goto(f"/ui/apps/{app_uuid}/import")
    rows = "".join(f"{7000 + i},cust-{page.width}-{i}\n" for i in range(1200))  # type: ignore[attr-defined]
    page.set_input_files(
        "#csv-file",
        files=[
            {
                "name": "s.csv",
                "mimeType": "text/csv",
                "buffer": ("token,externalCustomerId\n" + rows + "bad,x\n").encode(),
            }
        ],
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview tbody tr")).to_have_count(5)
    expect(page.locator("#row-count")).to_have_text("1201")
    fits(page)
    expect(page.locator('select[data-column="0"]')).to_have_value("token")
    page.get_by_role("button", name=re.compile("Import 1201 rows")).click()
    expect(page.locator("#import-progress progress")).to_be_visible()
    expect(page.locator("#import-progress")).to_have_attribute("data-done", "1", timeout=30_000)
    expect(page.locator('[data-counter="added"] dd')).to_have_text("1200")
    expect(page.locator('[data-counter="rejected"] dd')).to_have_text("1")
    expect(page.locator("#rejected tbody tr td").nth(0)).to_have_text("1202")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_message_editor_preview_and_test_send(page: Page, server: Any, _session_fake: Any) -> None:
    r = server.http.post("/v1/apps", json={"botToken": new_bot_token(_session_fake)})
    test_app = r.json()["appUuid"]
    register(server, test_app, ["3001"])
    page.goto("/ui/messages/new")
    page.fill("#f-name", "Promo")
    page.fill("#f-text", "Hello %FIRSTNAME|there%!")
    expect(page.locator("[data-preview=text]")).to_have_text("Hello %FIRSTNAME|there%!")
    page.get_by_role("button", name="Add a button").click()
    page.locator("[data-button-row] input[name=button_text]").last.fill("Open shop")
    page.locator("[data-button-row] input[name=button_link]").last.fill("not a link")
    expect(page.locator(".tg-button")).to_have_text("Open shop")
    fits(page)
    page.get_by_role("button", name="Create message").click()
    expect(page.locator('[data-error-for="buttons.0.link"]')).to_be_visible()
    page.locator("[data-button-row] input[name=button_link]").last.fill("https://example.com")
    page.get_by_role("button", name="Create message").click()
    expect(page.locator("p.ok")).to_have_text("Saved.")
    page.locator("#test-app").select_option(test_app)
    page.fill("#test-chats", "3001")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator('#test-results [data-status="OK"]')).to_have_count(1)
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_broadcast_from_the_form_with_a_live_report(
    page: Page, server: Any, _session_fake: Any
) -> None:
    r = server.http.post("/v1/apps", json={"botToken": new_bot_token(_session_fake)})
    app_uuid = r.json()["appUuid"]
    register(server, app_uuid, ["4001", "4002", "4003"])
    mid = create_message(server.http, f"Sale {page.width}")  # type: ignore[attr-defined]
    page.goto(f"/ui/broadcasts/new?message={mid}")
    expect(page.locator("#tz-name")).to_have_text(ZONE)
    page.locator("#f-app").select_option(app_uuid)
    page.check("#f-later")
    page.fill("#f-start", "2020-01-01T10:00")
    page.get_by_role("button", name="Create broadcast").click()
    expect(page.locator('[data-error-for="start"]')).to_contain_text("is in the past")
    fits(page)
    page.check("input[name=when][value=now]")
    page.get_by_role("button", name="Create broadcast").click()
    page.wait_for_url(re.compile(r"/ui/broadcasts/\d+$"))
    expect(page.locator("#broadcast-status")).to_have_text("FINISHED", timeout=15_000)
    expect(page.locator('[data-counter="delivered"] dd')).to_have_text("3")
    expect(page.locator("#report")).not_to_have_attribute("hx-trigger", re.compile("."))
    page.goto("/ui/broadcasts")
    fits(page)
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_contacts_groups_and_keys(page: Page, server: Any, _session_fake: Any) -> None:
    r = server.http.post("/v1/apps", json={"botToken": new_bot_token(_session_fake)})
    register(server, r.json()["appUuid"], [f"55{page.width}"])  # type: ignore[attr-defined]
    page.goto("/ui/groups")
    page.fill("#group-name", f"VIP {page.width}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_contain_text("VIP")
    page.goto(f"/ui/contacts?q=55{page.width}")  # type: ignore[attr-defined]
    expect(page.locator("#contacts tbody tr")).to_have_count(1)
    fits(page)
    page.locator("#contacts tbody input[type=checkbox]").check()
    page.locator("#target-group").select_option(label=f"VIP {page.width}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add to group").click()
    expect(page.locator("p.ok")).to_have_text("Added 1 to the group")
    page.locator("#contacts tbody a").first.click()
    expect(page.locator("#contact-groups")).to_contain_text("VIP")
    expect(page.locator("#chats tbody tr")).to_have_count(1)
    fits(page)
    page.goto("/ui/keys")
    page.fill("#key-name", "ci")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert (
        server.http.get("/v1/ping", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    page.once("dialog", lambda d: d.accept())
    page.locator("#keys tbody tr").last.get_by_role("button", name="Revoke").click()
    expect(page.locator("#keys tbody tr").last).to_contain_text("revoked")
    assert (
        server.http.get("/v1/ping", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )
    fits(page)
    page.goto("/ui/nowhere-at-all")
    page.goto("/ui/broadcasts/987654")
    expect(page.locator("main")).to_contain_text("Not found")
    assert page.locator("main").inner_text().count("ot found") == 1
    assert not page.problems or all("404" in p for p in page.problems), page.problems  # type: ignore[attr-defined]

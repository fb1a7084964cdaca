"""The /ui dashboard through TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from hushcast.bots.models import apps
from hushcast.contacts.models import app_tokens
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery.models import deliveries
from hushcast.orgs.repository import revoke_key
from hushcast.orgs.service import authenticate
from hushcast.web import session as sess
from hushcast.web.models import web_sessions
from tests.support.service import bearer, new_bot_token
from tests.support.web import csrf_of, login, mute_state, register, signed_in


def make_broadcast(client: TestClient, app_uuid: str, key: str | None = None) -> int:
    headers = bearer(key) if key else None
    r = client.post(
        "/v1/messages/telegram", json={"name": "Promo", "text": "Sale!"}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/v1/broadcast",
        json={"messageId": r.json()["id"], "appId": app_uuid, "title": "Spring sale"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return int(r.json()["broadcastId"])


def add_deliveries(db: Database, app_uuid: str, broadcast_id: int, rows: list[tuple]) -> None:
    """rows: (token, status, error_type, error_name, description)."""
    now = utcnow()
    with db.transaction() as conn:
        app = conn.execute(select(apps).where(apps.c.uuid == app_uuid)).one()
        contact_of = {
            r.token: r.contact_id
            for r in conn.execute(select(app_tokens).where(app_tokens.c.app_id == app.id))
        }
        message_id = _message_of(conn, broadcast_id)
        conn.execute(
            insert(deliveries),
            [
                {
                    "organization_id": app.organization_id,
                    "app_id": app.id,
                    "broadcast_id": broadcast_id,
                    "message_id": message_id,
                    "kind": "broadcast",
                    "priority": 1,
                    "token": token,
                    "contact_id": contact_of.get(token),
                    "status": status,
                    "error_type": etype,
                    "error_name": ename,
                    "description": desc,
                    "attempts": 0,
                    "available_at": now,
                    "created_at": now,
                    "finished_at": None if status == "IN_QUEUE" else now,
                }
                for token, status, etype, ename, desc in rows
            ],
        )


def _message_of(conn: Any, broadcast_id: int) -> int:
    from hushcast.broadcasts.models import broadcasts

    return int(
        conn.execute(
            select(broadcasts.c.message_id).where(broadcasts.c.id == broadcast_id)
        ).scalar_one()
    )


# --- sign in ---------------------------------------------------------------------------------


def test_sign_in_rejects_bad_key_and_sets_a_protected_cookie(client: TestClient, api_key: str):
    r = client.get("/ui", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    r = client.get("/ui/broadcasts?page=2", follow_redirects=False)
    assert r.headers["location"] == "/ui/login?next=%2Fui%2Fbroadcasts%3Fpage%3D2"

    page = client.get("/ui/login")
    token = csrf_of(page.text)
    # The sign-in form has its own CSRF token, bound to a cookie.
    r = client.post("/ui/login", data={"api_key": api_key}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(
        "/ui/login", data={"api_key": api_key, "csrf_token": "x" * 43}, follow_redirects=False
    )
    assert r.status_code == 403
    assert sess.SESSION_COOKIE not in client.cookies

    r = client.post(
        "/ui/login", data={"api_key": "hc_wrong", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 401
    assert "Unknown or revoked API key" in r.text
    assert "set-cookie" not in r.headers or sess.SESSION_COOKIE not in r.headers["set-cookie"]

    r = client.post(
        "/ui/login",
        data={"api_key": api_key, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/ui"  # no open redirect
    cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(sess.SESSION_COOKIE + "=")
    )
    attrs = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")}
    assert "httponly" in attrs
    assert attrs["samesite"].split("=")[1].strip().lower() in ("lax", "strict")
    assert attrs["path"].split("=")[1] == "/ui"
    assert "secure" not in attrs  # plain http here
    assert api_key not in cookie  # the key itself is never stored
    assert client.get("/ui").status_code == 200

    # Over https the cookie is Secure.
    page = client.get("https://testserver/ui/login")
    r = client.post(
        "https://testserver/ui/login",
        data={"api_key": api_key, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(sess.SESSION_COOKIE + "=")
    )
    assert "secure" in cookie.lower()


def test_tampered_or_expired_cookie_is_refused(client: TestClient, api_key: str, db: Database):
    signed_in(client, api_key)
    value = client.cookies[sess.SESSION_COOKIE]
    version, session_id, signature = value.split(".")
    # Another session id with the same signature.
    forged = ".".join([version, session_id[::-1], signature])
    client.cookies.set(sess.SESSION_COOKIE, forged, path="/ui")
    assert client.get("/ui", follow_redirects=False).status_code == 303
    # A correctly signed cookie whose session has expired (idle past the limit).
    with db.transaction() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=utcnow() - timedelta(days=1)))
    client.cookies.set(sess.SESSION_COOKIE, value, path="/ui")
    assert client.get("/ui", follow_redirects=False).status_code == 303
    client.cookies.clear()
    signed_in(client, api_key)
    assert client.get("/ui", follow_redirects=False).status_code == 200


def test_revoked_key_ends_the_session(client: TestClient, api_key: str, db: Database):
    csrf = signed_in(client, api_key)
    assert client.get("/ui/messages").status_code == 200
    with db.transaction() as conn:
        principal = authenticate(conn, api_key)
        assert principal is not None
        assert revoke_key(conn, principal.api_key_id, utcnow())
    r = client.get("/ui/messages", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    r = client.post(
        "/ui/logout", data={"csrf_token": csrf}, follow_redirects=False
    )  # no session any more: back to sign-in
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    # And the revoked key cannot sign in again.
    assert login(client, api_key).status_code == 401


def test_logout_needs_csrf_and_clears_the_cookie(client: TestClient, api_key: str):
    csrf = signed_in(client, api_key)
    assert client.post("/ui/logout", follow_redirects=False).status_code == 403
    assert client.get("/ui").status_code == 200
    r = client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert sess.SESSION_COOKIE not in client.cookies
    assert client.get("/ui", follow_redirects=False).status_code == 303


# --- pages -----------------------------------------------------------------------------------


def test_pages_render_with_counts_search_and_report(
    client: TestClient, api_key: str, app_uuid: str, db: Database
):
    register(client, app_uuid, ["1001", "1002", "1003", "2001"])
    assert client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "2001"}).status_code == 200
    bid = make_broadcast(client, app_uuid)
    signed_in(client, api_key)

    bots = client.get("/ui")
    assert bots.status_code == 200
    assert "Test bot" in bots.text and app_uuid in bots.text
    assert 'data-col="subscribers">4</td>' in bots.text
    assert 'data-col="muted">1</td>' in bots.text

    subs = client.get(f"/ui/apps/{app_uuid}")
    assert subs.status_code == 200
    for t in ("1001", "1002", "1003", "2001"):
        assert f'data-token="{t}"' in subs.text
    assert "cust-1002" in subs.text
    assert "forever" in subs.text  # 2001 is muted without a duration
    found = client.get(f"/ui/apps/{app_uuid}", params={"q": "cust-1002"})
    assert 'data-token="1002"' in found.text and 'data-token="1001"' not in found.text
    found = client.get(f"/ui/apps/{app_uuid}", params={"q": "200"})
    assert 'data-token="2001"' in found.text and 'data-token="1001"' not in found.text
    assert "No subscriber matches" in client.get(f"/ui/apps/{app_uuid}?q=zzz").text

    messages = client.get("/ui/messages")
    assert messages.status_code == 200 and "Promo" in messages.text and "Sale!" in messages.text
    assert "Promo" not in client.get("/ui/messages?q=nothing-like-it").text.split("<main>")[1]

    listing = client.get("/ui/broadcasts")
    assert listing.status_code == 200
    assert "Spring sale" in listing.text and "SCHEDULED" in listing.text
    assert f'href="/ui/broadcasts/{bid}"' in listing.text

    add_deliveries(
        db,
        app_uuid,
        bid,
        [
            ("1001", "DELIVERED", None, None, None),
            ("1002", "CLICKED", None, None, None),
            ("1003", "ERROR", "Errors", "BOT_SEND_ERROR", "Forbidden: bot was blocked by the user"),
            ("2001", "UNAVAILABLE", "Other errors", "CHANNEL_WAS_MUTED", None),
            ("4004", "IN_QUEUE", None, None, None),
        ],
    )
    report = client.get(f"/ui/broadcasts/{bid}")
    assert report.status_code == 200
    html = report.text
    counters = dict(re.findall(r'data-counter="([a-z-]+)"><dt>[^<]+</dt><dd>(\d+)</dd>', html))
    assert counters == {
        "total": "5",
        "in-queue": "1",
        "sent": "3",
        "delivered": "2",
        "clicked": "1",
        "unavailable": "1",
        "errors": "1",
    }
    unavailable = html.split('id="unavailable"')[1].split("</table>")[0]
    assert "2001" in unavailable and "cust-2001" in unavailable
    assert "Other errors" in unavailable and "CHANNEL_WAS_MUTED" in unavailable
    errors = html.split('id="errors"')[1].split("</table>")[0]
    assert "BOT_SEND_ERROR" in errors and "Forbidden: bot was blocked by the user" in errors
    assert "<svg" in html and "stroke-dasharray" in html
    # Scheduled and due: the report polls its fragment every second.
    assert f'hx-get="/ui/broadcasts/{bid}/live"' in html and 'hx-trigger="every 1s"' in html
    fragment = client.get(f"/ui/broadcasts/{bid}/live")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="report"')
    assert "<html" not in fragment.text

    export = client.get(f"/ui/broadcasts/{bid}/export.csv", params={"bucket": "unavailable"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [
        (r["token"], r["externalCustomerId"], r["errorType"], r["errorName"]) for r in rows
    ] == [("2001", "cust-2001", "Other errors", "CHANNEL_WAS_MUTED")]
    everything = list(
        csv.DictReader(io.StringIO(client.get(f"/ui/broadcasts/{bid}/export.csv").text))
    )
    assert len(everything) == 5
    assert client.get(f"/ui/broadcasts/{bid}/export.csv?bucket=nope").status_code == 400

    # Cancel finishes it: the report stops polling.
    csrf = csrf_of(report.text)
    r = client.post(
        f"/ui/broadcasts/{bid}/cancel", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/v1/broadcast/{bid}").json()["status"] == "CANCELLED"
    after = client.get(f"/ui/broadcasts/{bid}").text
    assert "hx-trigger" not in after and "CANCELLED" in after


def test_pause_resume_cancel_buttons(client: TestClient, api_key: str, app_uuid: str):
    register(client, app_uuid, ["1001"])
    bid = make_broadcast(client, app_uuid)
    csrf = signed_in(client, api_key)

    def status() -> str:
        return str(client.get(f"/v1/broadcast/{bid}").json()["status"])

    r = client.post(
        f"/ui/broadcasts/{bid}/pause", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/broadcasts/{bid}"
    assert status() == "PAUSED"
    page = client.get(f"/ui/broadcasts/{bid}").text
    assert f'action="/ui/broadcasts/{bid}/resume"' in page
    assert f'action="/ui/broadcasts/{bid}/pause"' not in page
    # Pausing twice is a conflict, shown on the page.
    r = client.post(f"/ui/broadcasts/{bid}/pause", data={"csrf_token": csrf})
    assert r.status_code == 409 and "only a scheduled or running broadcast" in r.text
    # The htmx header carries the token as well.
    r = client.post(
        f"/ui/broadcasts/{bid}/resume",
        headers={sess.CSRF_HEADER: csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and status() == "SCHEDULED"
    r = client.post(
        f"/ui/broadcasts/{bid}/cancel", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and status() == "CANCELLED"


# --- CSRF ------------------------------------------------------------------------------------


def test_posts_without_a_valid_csrf_token_are_refused(
    client: TestClient, api_key: str, app_uuid: str, settings: Any, db: Database
):
    register(client, app_uuid, ["1001"])
    bid = make_broadcast(client, app_uuid)
    csrf = signed_in(client, api_key)

    # A token from another session (another sign-in with the same key) does not work here.
    other = TestClient(client.app)
    other_csrf = signed_in(other, api_key)
    assert other_csrf != csrf

    for bad in ({}, {"csrf_token": ""}, {"csrf_token": "nope"}, {"csrf_token": other_csrf}):
        r = client.post(
            f"/ui/apps/{app_uuid}/mute",
            data={"token": "1001", "duration": "forever", **bad},
            follow_redirects=False,
        )
        assert r.status_code == 403, bad
        assert "CSRF" in r.text
        r = client.post(f"/ui/broadcasts/{bid}/cancel", data=bad, follow_redirects=False)
        assert r.status_code == 403
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "1001"},
        headers={sess.CSRF_HEADER: "wrong", "HX-Request": "true"},
    )
    assert r.status_code == 403
    r = client.post("/ui/tz", data={"tz": "Asia/Tokyo"}, follow_redirects=False)
    assert r.status_code == 403
    assert mute_state(client, app_uuid, "1001")["muted"] is False
    assert client.get(f"/v1/broadcast/{bid}").json()["status"] == "SCHEDULED"

    # The right token works.
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "1001", "duration": "forever", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert mute_state(client, app_uuid, "1001")["muted"] is True


# --- mute / unmute ---------------------------------------------------------------------------


def test_mute_and_unmute_through_the_page(client: TestClient, api_key: str, app_uuid: str):
    register(client, app_uuid, ["1001", "1002"])
    csrf = signed_in(client, api_key)
    htmx = {"HX-Request": "true", sess.CSRF_HEADER: csrf}

    before = utcnow()
    r = client.post(
        f"/ui/apps/{app_uuid}/mute", data={"token": "1001", "duration": "3600"}, headers=htmx
    )
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<tr data-token="1001" class="is-muted"')
    state = mute_state(client, app_uuid, "1001")
    assert state["muted"] is True
    until = state["mutedUntil"]
    from datetime import datetime

    until_dt = datetime.fromisoformat(until.replace("Z", ""))
    assert before + timedelta(seconds=3590) <= until_dt <= utcnow() + timedelta(seconds=3610)
    assert until_dt.strftime("%Y-%m-%d %H:%M:%S UTC") in r.text
    assert "Unmute" in r.text
    assert mute_state(client, app_uuid, "1002")["muted"] is False

    # Custom seconds.
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "1002", "duration": "custom", "custom": "120"},
        headers=htmx,
    )
    assert r.status_code == 200
    until_dt = datetime.fromisoformat(mute_state(client, app_uuid, "1002")["mutedUntil"][:-1])
    assert timedelta(seconds=100) < until_dt - before < timedelta(seconds=140)

    # Out of range: an inline error, and nothing changes.
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "1002", "duration": "custom", "custom": "3"},
        headers=htmx,
    )
    assert r.status_code == 200 and "Duration must be between 5 and 31536000 seconds" in r.text
    assert mute_state(client, app_uuid, "1002")["mutedUntil"][:-1] == until_dt.isoformat()
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "1002", "duration": "custom", "custom": "3", "csrf_token": csrf},
    )
    assert r.status_code == 400

    # Forever, then unmute.
    r = client.post(
        f"/ui/apps/{app_uuid}/mute", data={"token": "1002", "duration": "forever"}, headers=htmx
    )
    assert "forever" in r.text
    assert mute_state(client, app_uuid, "1002")["mutedUntil"].startswith("9999-12-31")
    r = client.post(f"/ui/apps/{app_uuid}/unmute", data={"token": "1002"}, headers=htmx)
    assert r.status_code == 200
    assert 'class="is-muted"' not in r.text and "Unmute" not in r.text
    assert mute_state(client, app_uuid, "1002") == {
        "token": "1002",
        "muted": False,
        "mutedUntil": None,
    }

    # Without htmx: a redirect back to the page it came from.
    r = client.post(
        f"/ui/apps/{app_uuid}/unmute",
        data={"token": "1001", "csrf_token": csrf, "back": f"/ui/apps/{app_uuid}?q=1001"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/apps/{app_uuid}?q=1001"
    assert mute_state(client, app_uuid, "1001")["muted"] is False
    assert "1 muted now" not in client.get("/ui").text


def test_times_are_shown_in_the_chosen_zone(client: TestClient, api_key: str, app_uuid: str):
    register(client, app_uuid, ["1001"])
    r = client.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1001", "duration": 86400})
    until = r.json()["mutedUntil"]
    csrf = signed_in(client, api_key)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    utc_text = datetime.fromisoformat(until[:-1]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert utc_text in client.get(f"/ui/apps/{app_uuid}").text
    r = client.post(
        "/ui/tz",
        data={"tz": "Asia/Tokyo", "csrf_token": csrf, "next": f"/ui/apps/{app_uuid}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/apps/{app_uuid}"
    tokyo = (
        datetime.fromisoformat(until[:-1])
        .replace(tzinfo=ZoneInfo("UTC"))
        .astimezone(ZoneInfo("Asia/Tokyo"))
        .strftime("%Y-%m-%d %H:%M:%S JST")
    )
    page = client.get(f"/ui/apps/{app_uuid}").text
    assert tokyo in page and utc_text not in page
    assert '<option value="Asia/Tokyo" selected>' in page
    # An unknown zone falls back to UTC.
    client.post("/ui/tz", data={"tz": "Mars/Olympus", "csrf_token": csrf})
    assert utc_text in client.get(f"/ui/apps/{app_uuid}").text


# --- scoping ---------------------------------------------------------------------------------


def test_another_organisations_ids_are_404(
    client: TestClient, api_key: str, other_key: str, fake_telegram: Any
):
    r = client.post(
        "/v1/apps", json={"botToken": new_bot_token(fake_telegram)}, headers=bearer(other_key)
    )
    assert r.status_code == 201
    their_app = r.json()["appUuid"]
    register(client, their_app, ["9001"], key=other_key)
    their_broadcast = make_broadcast(client, their_app, key=other_key)
    csrf = signed_in(client, api_key)

    assert their_app not in client.get("/ui").text
    assert "Spring sale" not in client.get("/ui/broadcasts").text
    for path in (
        f"/ui/apps/{their_app}",
        f"/ui/broadcasts/{their_broadcast}",
        f"/ui/broadcasts/{their_broadcast}/live",
        f"/ui/broadcasts/{their_broadcast}/export.csv",
        "/ui/apps/not-a-uuid",
        "/ui/broadcasts/999999999",
        "/ui/broadcasts/99999999999999999999999",
        "/ui/broadcasts/abc",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Not found" in r.text
        assert r.headers["x-frame-options"] == "DENY"
    for path in (
        f"/ui/broadcasts/{their_broadcast}/pause",
        f"/ui/broadcasts/{their_broadcast}/cancel",
    ):
        assert client.post(path, data={"csrf_token": csrf}).status_code == 404
    r = client.post(
        f"/ui/apps/{their_app}/mute",
        data={"token": "9001", "duration": "forever", "csrf_token": csrf},
    )
    assert r.status_code == 404
    r = client.get(
        f"/v1/apps/{their_app}/token/mute", params={"token": "9001"}, headers=bearer(other_key)
    )
    assert r.json()["muted"] is False
    r = client.get(f"/v1/broadcast/{their_broadcast}", headers=bearer(other_key))
    assert r.json()["status"] == "SCHEDULED"


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ui/login", "/ui", "/ui/messages", "/ui/static/app.js", "/ui/static/htmx.min.js"]
)
def test_security_headers(client: TestClient, api_key: str, path: str):
    signed_in(client, api_key)
    r = client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    if path.endswith(".js"):
        assert r.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    else:
        # No inline scripts or styles anywhere (the CSP would block them).
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)
        assert " style=" not in r.text and "<style" not in r.text
        assert not re.search(r"\son[a-z]+=", r.text)


def test_mute_history_beside_each_subscriber(
    client: TestClient, api_key: str, other_key: str, app_uuid: str
):
    register(client, app_uuid, ["1101"])
    csrf = signed_in(client, api_key)
    htmx = {"HX-Request": "true", sess.CSRF_HEADER: csrf}
    r = client.post(
        f"/ui/apps/{app_uuid}/mute", data={"token": "1101", "duration": "3600"}, headers=htmx
    )
    assert r.status_code == 200
    assert f'href="/ui/apps/{app_uuid}/history?token=1101"' in r.text
    assert (
        client.post(f"/ui/apps/{app_uuid}/unmute", data={"token": "1101"}, headers=htmx).status_code
        == 200
    )

    page = client.get(f"/ui/apps/{app_uuid}/history", params={"token": "01101"})
    assert page.status_code == 200, page.text
    cells = re.findall(r"<tr><td>[^<]*</td><td>(\w+)</td><td>([^<]*)</td>", page.text)
    assert [kind for kind, _ in cells] == ["unmute", "mute"]  # newest first
    # Changes made in the dashboard say so, with the key its session signed in with.
    assert all(re.fullmatch(r"dashboard:\d+", by) for _, by in cells), cells
    assert "<b>2</b> changes" in page.text
    assert client.get(f"/ui/apps/{app_uuid}/history", params={"token": "x y"}).status_code == 400

    # Another organisation sees no such bot.
    signed_in(client, other_key)
    assert client.get(f"/ui/apps/{app_uuid}/history", params={"token": "1101"}).status_code == 404


# --- live report after pause and cancel --------------------------------------------------------


def test_is_live_until_the_counters_are_final() -> None:
    from hushcast.web.service import is_live

    assert is_live("RUNNING", 0, 0, due=False)
    assert is_live("SCHEDULED", 5, 0, due=True)
    assert not is_live("SCHEDULED", 5, 0, due=False)
    # After a cancel the sends already handed to Telegram still finish.
    assert is_live("CANCELLED", 3, 0, due=False)
    assert not is_live("CANCELLED", 0, 0, due=False)
    assert not is_live("FINISHED", 0, 0, due=False)
    # After a pause only the sends in flight change the counters; queued rows wait.
    assert is_live("PAUSED", 10, 2, due=False)
    assert not is_live("PAUSED", 10, 0, due=False)


def test_report_keeps_polling_after_cancel_until_the_last_send_is_recorded(
    client: TestClient, api_key: str, app_uuid: str, db: Database
) -> None:
    register(client, app_uuid, ["1001", "1002"])
    bid = make_broadcast(client, app_uuid)
    assert client.delete(f"/v1/broadcast/{bid}").status_code == 200
    # A send the worker had already handed to Telegram when the cancel came.
    add_deliveries(db, app_uuid, bid, [("1001", "SENDING", None, None, None)])
    signed_in(client, api_key)
    page = client.get(f"/ui/broadcasts/{bid}").text
    assert 'data-live="1"' in page and "In queue" in page
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.broadcast_id == bid)
            .values(status="DELIVERED", finished_at=utcnow())
        )
    page = client.get(f"/ui/broadcasts/{bid}").text
    assert 'data-live="1"' not in page

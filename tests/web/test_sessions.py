"""Dashboard sessions live on the server: signing out (here or everywhere), revoking the
key, idling past HUSHCAST_SESSION_IDLE_MINUTES and the absolute lifetime each end them, and
the old cookie and its CSRF token stop working at once. Through the real pages, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hushcast.app import create_app
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.orgs.repository import revoke_key
from hushcast.orgs.service import authenticate
from hushcast.web import session as sess
from hushcast.web.models import web_sessions
from tests.support.checks import table_snapshot
from tests.support.service import make_key
from tests.support.web import csrf_of, mute_state, register, signed_in


def _cookie(client: TestClient) -> str:
    return str(client.cookies[sess.SESSION_COOKIE])


def _use(client: TestClient, cookie: str) -> None:
    client.cookies.clear()
    client.cookies.set(sess.SESSION_COOKIE, cookie, path="/ui")


def _opens_ui(client: TestClient) -> bool:
    r = client.get("/ui", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


def _mute(client: TestClient, app_uuid: str, csrf: str, token: str) -> int:
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": token, "duration": "forever", "csrf_token": csrf},
        follow_redirects=False,
    )
    return r.status_code


def test_logout_ends_the_session_on_the_server(
    client: TestClient, api_key: str, app_uuid: str
) -> None:
    register(client, app_uuid, ["4242"])
    csrf = signed_in(client, api_key)
    old = _cookie(client)
    r = client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"

    # The old cookie, replayed: no page, and no mute with its old CSRF token.
    _use(client, old)
    assert not _opens_ui(client)
    _use(client, old)
    r = client.post(
        f"/ui/apps/{app_uuid}/mute",
        data={"token": "4242", "duration": "forever", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    assert mute_state(client, app_uuid, "4242")["muted"] is False


def test_sign_out_everywhere_ends_every_session_of_the_organisation(
    client: TestClient, db: Database, api_key: str, other_key: str, app_uuid: str
) -> None:
    register(client, app_uuid, ["4343"])
    second_key = make_key(db, "acme")  # another key of the same organisation
    signed_in(client, api_key)
    first = _cookie(client)
    client.cookies.clear()
    signed_in(client, second_key)
    second = _cookie(client)
    client.cookies.clear()
    signed_in(client, other_key)
    rival = _cookie(client)
    client.cookies.clear()
    third_csrf = signed_in(client, api_key)
    third = _cookie(client)

    page = client.get("/ui").text
    assert 'action="/ui/logout-everywhere"' in page and "Sign out everywhere" in page
    # CSRF-protected like every other post.
    r = client.post("/ui/logout-everywhere", follow_redirects=False)
    assert r.status_code == 403
    r = client.post(
        "/ui/logout-everywhere", data={"csrf_token": third_csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"

    for cookie in (first, second, third):
        _use(client, cookie)
        assert not _opens_ui(client)
    _use(client, third)
    assert _mute(client, app_uuid, third_csrf, "4343") == 303
    assert mute_state(client, app_uuid, "4343")["muted"] is False
    # Another organisation's session is untouched.
    _use(client, rival)
    assert _opens_ui(client)
    # Signing in again works.
    client.cookies.clear()
    signed_in(client, api_key)
    assert _opens_ui(client)


def test_revoking_the_key_ends_its_sessions(client: TestClient, db: Database, api_key: str) -> None:
    signed_in(client, api_key)
    cookie = _cookie(client)
    with db.transaction() as conn:
        principal = authenticate(conn, api_key)
        assert principal is not None
        assert revoke_key(conn, principal.api_key_id, utcnow())
    _use(client, cookie)
    assert not _opens_ui(client)


def _age_sessions(db: Database, *, seen: timedelta, created: timedelta | None = None) -> None:
    values = {"last_seen_at": utcnow() - seen}
    if created is not None:
        values["created_at"] = utcnow() - created
    with db.transaction() as conn:
        conn.execute(update(web_sessions).values(**values))


def _last_seen(db: Database) -> list[object]:
    with db.read() as conn:
        return list(conn.execute(select(web_sessions.c.last_seen_at)).scalars())


def test_idle_sessions_expire_after_the_configured_minutes(
    settings: Settings, db: Database, api_key: str
) -> None:
    short = settings.model_copy(update={"session_idle_minutes": 5})
    with TestClient(create_app(short, db=db), raise_server_exceptions=False) as client:
        signed_in(client, api_key)
        cookie = _cookie(client)
        # Four idle minutes: still signed in, and the request counts as activity.
        _age_sessions(db, seen=timedelta(minutes=4))
        assert _opens_ui(client)
        (seen,) = _last_seen(db)
        assert utcnow() - seen < timedelta(minutes=1)  # type: ignore[operator]
        # Six idle minutes: over the limit.
        _age_sessions(db, seen=timedelta(minutes=6))
        _use(client, cookie)
        assert not _opens_ui(client)


def test_sessions_end_after_the_absolute_lifetime_however_active(
    client: TestClient, db: Database, api_key: str
) -> None:
    signed_in(client, api_key)
    cookie = _cookie(client)
    _age_sessions(db, seen=timedelta(0), created=timedelta(seconds=sess.SESSION_TTL_S + 60))
    _use(client, cookie)
    assert not _opens_ui(client)


def test_the_database_does_not_hold_the_session_id(
    client: TestClient, db: Database, api_key: str
) -> None:
    signed_in(client, api_key)
    cookie = _cookie(client)
    session_id = sess.parse(client.app.state.verify_secrets, cookie)  # type: ignore[attr-defined]
    assert session_id
    assert session_id not in repr(table_snapshot(db))
    with db.read() as conn:
        assert conn.execute(select(web_sessions.c.id_digest)).scalar_one() == sess.id_digest(
            session_id
        )


def test_forged_and_unknown_cookies_are_refused(client: TestClient, api_key: str) -> None:
    signed_in(client, api_key)
    cookie = _cookie(client)
    version, session_id, signature = cookie.split(".")
    secret = client.app.state.secret  # type: ignore[attr-defined]
    other_id = session_id[:-1] + ("B" if session_id.endswith("A") else "A")
    for forged in (
        f"{version}.{other_id}.{signature}",  # another id, the same signature
        sess.issue(secret, sess.new_session_id()),  # well signed, but no such session
        "v1.1.99999999999.0123456789abcdef.nonce." + signature,  # the old stateless format
        cookie + "x",
    ):
        _use(client, forged)
        assert not _opens_ui(client), forged
    _use(client, cookie)
    assert _opens_ui(client)
    assert csrf_of(client.get("/ui").text)

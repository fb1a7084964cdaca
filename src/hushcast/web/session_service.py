"""Dashboard sessions: sign in, look up, keep alive, sign out (here and everywhere).

Never commits: the routes open the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from hushcast.core.timeutil import utcnow
from hushcast.orgs.service import Principal, authenticate
from hushcast.web import session as sess
from hushcast.web import session_repository as repo

# A session is a web_sessions row; it ends when signed out (this browser or everywhere),
# when its key is revoked, after SESSION_IDLE_MINUTES without a request, and at the latest
# SESSION_TTL_S after sign-in.

# last_seen_at is written at most this often per session (most requests only read).
TOUCH_EVERY = timedelta(seconds=60)
# Sessions not seen for this long beyond their limits are deleted at the next sign-in.
PURGE_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class UISession:
    principal: Principal
    org_name: str
    key_prefix: str
    session_digest: str
    last_seen_at: datetime
    csrf: str
    session_id: str = field(repr=False)


def sign_in(
    conn: Connection, secret: str, key: str, idle: timedelta, now: datetime | None = None
) -> str | None:
    """A new session's cookie value for a valid, unrevoked key, else None."""
    principal = authenticate(conn, key.strip())
    if principal is None:
        return None
    now = now or utcnow()
    session_id = sess.new_session_id()
    repo.insert_session(
        conn, sess.id_digest(session_id), principal.organization_id, principal.api_key_id, now
    )
    repo.purge_sessions(conn, now - max(idle, timedelta(seconds=sess.SESSION_TTL_S)) - PURGE_GRACE)
    return sess.issue(secret, session_id)


def load_session(
    conn: Connection,
    secrets: Sequence[str],
    cookie_value: str | None,
    idle: timedelta,
    now: datetime | None = None,
) -> UISession | None:
    """The live session of a well-signed cookie: unrevoked, not idle for longer than
    ``idle``, younger than SESSION_TTL_S, and its key unrevoked."""
    session_id = sess.parse(secrets, cookie_value)
    if session_id is None:
        return None
    now = now or utcnow()
    digest = sess.id_digest(session_id)
    row = repo.live_session(conn, digest, now - idle, now - timedelta(seconds=sess.SESSION_TTL_S))
    if row is None:
        return None
    return UISession(
        principal=Principal(
            organization_id=int(row.organization_id), api_key_id=int(row.api_key_id)
        ),
        org_name=str(row.org_name),
        key_prefix=str(row.key_prefix),
        session_digest=digest,
        last_seen_at=row.last_seen_at,
        csrf=sess.csrf_token(secrets[0], session_id),
        session_id=session_id,
    )


def needs_touch(session: UISession, idle: timedelta, now: datetime | None = None) -> bool:
    return (now or utcnow()) - session.last_seen_at >= min(TOUCH_EVERY, idle / 2)


def touch(conn: Connection, session: UISession, now: datetime | None = None) -> None:
    repo.touch_session(conn, session.session_digest, now or utcnow())


def sign_out(conn: Connection, session: UISession) -> None:
    repo.revoke_session(conn, session.session_digest, utcnow())


def sign_out_everywhere(conn: Connection, session: UISession) -> int:
    """Ends every session of the organisation (this one included); returns how many."""
    return repo.revoke_org_sessions(conn, session.principal.organization_id, utcnow())

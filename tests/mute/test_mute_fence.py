"""A mute of a bot a worker is sending for answers only after the fence (mute/fence.py).

The lease row stands for a worker sending for the bot: that is what the fence looks
at. A fence of 1.5 s keeps "waited" and "did not wait" apart on a busy machine (at 0.5 s
an unmute and a rejected mute took longer than that once, under a parallel run).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from hushcast.app import create_app
from hushcast.bots.models import apps
from hushcast.core.config import Settings
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import lease_repository
from hushcast.delivery.models import app_leases
from hushcast.mute.fence import SEND_MARGIN_S, fence_s
from tests.support.service import bearer, new_bot_token
from tests.support.web import register, signed_in

FENCE_S = 1.5


@pytest.fixture
def fenced(settings: Settings, db: Database, api_key: str) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"mute_fence_s": FENCE_S}), db=db)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        yield c


def _bot(client: TestClient, fake_telegram: Any, key: str | None = None) -> str:
    r = client.post(
        "/v1/apps",
        json={"botToken": new_bot_token(fake_telegram)},
        headers=bearer(key) if key else None,
    )
    assert r.status_code == 201, r.text
    app_uuid = r.json()["appUuid"]
    register(client, app_uuid, ["1001", "1002"], key)
    return str(app_uuid)


def _app_id(db: Database, app_uuid: str) -> int:
    with db.read() as conn:
        return int(conn.execute(apps.select().where(apps.c.uuid == app_uuid)).first().id)  # type: ignore[union-attr]


def _lease(db: Database, app_id: int, seconds: float) -> None:
    """A worker holds the bot's lease for ``seconds`` from now (negative: it lapsed)."""
    with db.transaction() as conn:
        conn.execute(delete(app_leases).where(app_leases.c.app_id == app_id))
        conn.execute(
            app_leases.insert().values(
                app_id=app_id,
                worker_id="worker-elsewhere",
                lease_until=utcnow() + timedelta(seconds=seconds),
                paused_until=None,
            )
        )


def _timed_mute(client: TestClient, app_uuid: str, key: str | None = None) -> float:
    t = time.monotonic()
    r = client.post(
        f"/v1/apps/{app_uuid}/token/mute",
        json={"tokens": ["1001", "1002"], "duration": 600},
        headers=bearer(key) if key else None,
    )
    assert r.status_code == 200, r.text
    return time.monotonic() - t


def test_default_fence_is_the_check_window_plus_the_margin(settings: Settings) -> None:
    assert fence_s(settings) == pytest.approx(settings.worker_check_window_s + SEND_MARGIN_S)
    assert fence_s(settings.model_copy(update={"mute_fence_s": 0.3})) == 0.3
    assert fence_s(settings.model_copy(update={"mute_fence_s": -1.0})) == 0.0


def test_api_mute_waits_only_while_a_worker_sends_for_the_bot(
    fenced: TestClient, fake_telegram: Any, db: Database, other_key: str
) -> None:
    app_uuid = _bot(fenced, fake_telegram)
    app_id = _app_id(db, app_uuid)

    assert _timed_mute(fenced, app_uuid) < FENCE_S  # no worker has the bot
    _lease(db, app_id, -5)
    assert _timed_mute(fenced, app_uuid) < FENCE_S  # a lapsed lease: no one sends
    _lease(db, app_id, 30)
    waited = _timed_mute(fenced, app_uuid)
    assert waited >= FENCE_S
    # The mute was committed before the wait: another request sees it at once.
    r = fenced.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": "1001"})
    assert r.json()["muted"] is True

    # A rival organisation's bot being sent for does not slow this one's mutes, nor
    # the other way round: the lease is looked up for the caller's own app.
    rival_uuid = _bot(fenced, fake_telegram, other_key)
    _lease(db, app_id, -5)
    _lease(db, _app_id(db, rival_uuid), 30)
    assert _timed_mute(fenced, app_uuid) < FENCE_S
    assert _timed_mute(fenced, rival_uuid, other_key) >= FENCE_S


def test_unmute_and_a_rejected_mute_never_wait(
    fenced: TestClient, fake_telegram: Any, db: Database
) -> None:
    app_uuid = _bot(fenced, fake_telegram)
    _lease(db, _app_id(db, app_uuid), 30)
    t = time.monotonic()
    r = fenced.post(f"/v1/apps/{app_uuid}/token/unmute", json={"token": "1001"})
    assert r.status_code == 200, r.text
    r = fenced.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "1001", "duration": 1})
    assert r.status_code == 400, r.text
    assert time.monotonic() - t < FENCE_S


def test_dashboard_mute_waits_too(
    fenced: TestClient, fake_telegram: Any, db: Database, api_key: str
) -> None:
    app_uuid = _bot(fenced, fake_telegram)
    _lease(db, _app_id(db, app_uuid), 30)
    fenced.headers.pop("Authorization")
    csrf = signed_in(fenced, api_key)
    for path, form in (
        (f"/ui/apps/{app_uuid}/mute", {"token": "1001", "duration": "forever"}),
        (f"/ui/apps/{app_uuid}/bulk", {"action": "mute", "token": ["1001", "1002"]}),
    ):
        t = time.monotonic()
        r = fenced.post(path, data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code in (200, 303), r.text
        assert time.monotonic() - t >= FENCE_S, path
    t = time.monotonic()
    r = fenced.post(
        f"/ui/apps/{app_uuid}/bulk",
        data={"action": "unmute", "token": ["1001"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert time.monotonic() - t < FENCE_S


def test_is_sending_by_id_and_by_uuid(db: Database, client: TestClient, fake_telegram: Any) -> None:
    app_uuid = _bot(client, fake_telegram)
    app_id = _app_id(db, app_uuid)
    with db.read() as conn:
        org_id = int(conn.execute(apps.select().where(apps.c.id == app_id)).first().organization_id)  # type: ignore[union-attr]

    def sending() -> tuple[bool, bool, bool]:
        with db.read() as conn:
            now = utcnow()
            return (
                lease_repository.is_sending(conn, now, app_id=app_id),
                lease_repository.is_sending(conn, now, org_id=org_id, app_uuid=app_uuid),
                lease_repository.is_sending(conn, now, org_id=org_id + 1000, app_uuid=app_uuid),
            )

    assert sending() == (False, False, False)
    _lease(db, app_id, 30)
    assert sending() == (True, True, False)
    _lease(db, app_id, -1)
    assert sending() == (False, False, False)
